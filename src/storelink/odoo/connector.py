"""The Odoo connector: everything the hub asks of Odoo, batched and idempotent.

::

    async with open_connector(settings.odoo) as odoo:
        results = await odoo.record_store_sales(sales)
        positions = await odoo.read_stock_positions(["S001"])

Each entity's Odoo record and idempotency key is documented in its module:
:mod:`~storelink.odoo.catalog` (products, prices), :mod:`~storelink.odoo.estate`
(stores), :mod:`~storelink.odoo.sales` (store sales and returns),
:mod:`~storelink.odoo.orders` (channel orders), :mod:`~storelink.odoo.stock`
(positions and counts), :mod:`~storelink.odoo.adjustments` (stock adjustments),
:mod:`~storelink.odoo.customers` (customers).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any

from storelink.config.sections import OdooSettings
from storelink.errors import ConfigError
from storelink.model import (
    Customer,
    Order,
    Price,
    PriceScope,
    Product,
    Return,
    Sale,
    StockMovement,
    StockPosition,
    Store,
)
from storelink.odoo.adjustments import AdjustmentResult, Adjustments
from storelink.odoo.breaker import CircuitBreaker
from storelink.odoo.catalog import Catalog
from storelink.odoo.client import ConnectOptions, OdooClient, connect
from storelink.odoo.customers import Customers
from storelink.odoo.estate import Estate
from storelink.odoo.lookups import Lookups
from storelink.odoo.orders import DraftLine, OrderDraft, SaleOrders
from storelink.odoo.results import OrderResult, SaleResult, StoreBinding
from storelink.odoo.retry import RetryPolicy
from storelink.odoo.sales import StoreSales, ticket_of_return, ticket_of_sale
from storelink.odoo.stock import Stock


def order_key(order: Order) -> str:
    """The ``client_order_ref`` of a channel order: ``<channel>:<external_ref>``."""
    return f"{order.channel}:{order.external_ref}"


class OdooConnector:
    """Canonical entities in, canonical entities out; Odoo in between."""

    def __init__(self, client: OdooClient, *, tax_classes: dict[str, str] | None = None) -> None:
        self.client = client
        self.lookups = Lookups(client)
        self.catalog = Catalog(client, self.lookups, tax_classes or {})
        self.estate = Estate(client, self.lookups)
        self.customers = Customers(client)
        self.sale_orders = SaleOrders(client)
        self.stock = Stock(client, self.lookups)
        self.adjustments = Adjustments(client, self.lookups)
        self.store_sales = StoreSales(client, self.lookups, self.customers, self.sale_orders)

    @property
    def round_trips(self) -> int:
        """RPC requests sent to Odoo so far (login and retries included)."""
        return self.client.round_trips

    @property
    def version(self) -> str:
        return self.client.dialect.series

    @property
    def protocol(self) -> str:
        return self.client.protocol

    async def record_store_sales(self, sales: Sequence[Sale]) -> list[SaleResult]:
        return await self.store_sales.record([ticket_of_sale(s) for s in sales])

    async def record_returns(self, returns: Sequence[Return]) -> list[SaleResult]:
        return await self.store_sales.record([ticket_of_return(r) for r in returns])

    async def create_channel_orders(self, orders: Sequence[Order]) -> list[OrderResult]:
        """Each order as one confirmed ``sale.order`` (key ``client_order_ref``)."""
        if not orders:
            return []
        products = await self.lookups.product_ids({line.sku for o in orders for line in o.lines})
        partners = await self.customers.partner_ids(
            {o.customer_id for o in orders if o.customer_id}
        )
        walk_in = await self.customers.walk_in() if len(partners) < len(orders) else 0
        warehouses = await self.lookups.warehouses({o.fulfil_from for o in orders if o.fulfil_from})
        drafts = [
            OrderDraft(
                key=order_key(o),
                partner_id=partners.get(o.customer_id or "", walk_in),
                lines=tuple(
                    DraftLine(products[line.sku], line.quantity, line.unit_price)
                    for line in o.lines
                ),
                warehouse_id=(
                    warehouses[o.fulfil_from].warehouse_id if o.fulfil_from in warehouses else None
                ),
            )
            for o in orders
        ]
        placed = await self.sale_orders.place(drafts)
        return [
            OrderResult(o.id, p.odoo_id, p.name, p.created)
            for o, p in zip(orders, placed, strict=True)
        ]

    async def apply_stock_counts(self, positions: Sequence[StockPosition]) -> list[int]:
        return await self.stock.apply_counts(positions)

    async def apply_stock_adjustments(
        self, movements: Sequence[StockMovement]
    ) -> list[AdjustmentResult]:
        """Each signed movement as one validated transfer, once (key ``origin``)."""
        return await self.adjustments.apply(movements)

    async def read_stock_positions(
        self, locations: Sequence[str] | None = None
    ) -> list[StockPosition]:
        return await self.stock.read_positions(locations)

    async def upsert_stores(self, stores: Sequence[Store]) -> list[StoreBinding]:
        return await self.estate.upsert_stores(stores)

    async def upsert_products(self, products: Sequence[Product]) -> list[int]:
        return await self.catalog.upsert_products(products)

    async def upsert_prices(self, prices: Sequence[Price]) -> None:
        await self.catalog.upsert_prices(prices)

    async def upsert_customers(self, customers: Sequence[Customer]) -> list[int]:
        return await self.customers.upsert(customers)

    async def read_products(self) -> list[Product]:
        return await self.catalog.read_products()

    async def read_prices(self, scope: PriceScope | None = None) -> list[Price]:
        return await self.catalog.read_prices(scope)

    async def read_customers(self) -> list[Customer]:
        return await self.customers.read()

    async def aclose(self) -> None:
        await self.client.aclose()


def connect_options(settings: OdooSettings, **overrides: Any) -> ConnectOptions:
    """Connection options from the ``odoo`` settings section (``url`` must be set)."""
    if settings.url is None:
        raise ConfigError("odoo.url is not set (the sandbox wires the emulator in its place)")
    options: dict[str, Any] = {
        "url": str(settings.url),
        "database": settings.database or "",
        "login": settings.user or "admin",
        "password": settings.password.get_secret_value() if settings.password else None,
        "api_key": settings.api_key.get_secret_value() if settings.api_key else None,
        "version": settings.version,
        "protocol": settings.protocol,
        "timeout_s": settings.timeout_s,
        "batch_size": settings.batch_size,
        "retry": RetryPolicy(attempts=settings.retry_attempts),
        "breaker": CircuitBreaker(
            str(settings.url),
            threshold=settings.breaker_threshold,
            reset_s=settings.breaker_reset_s,
        ),
    }
    options.update(overrides)
    return ConnectOptions(**options)


@asynccontextmanager
async def open_connector(settings: OdooSettings, **overrides: Any) -> AsyncIterator[OdooConnector]:
    """Connect to Odoo as configured; closes the HTTP client on exit.

    ``overrides`` replace :class:`ConnectOptions` fields (``transport=`` for tests,
    ``retry=``, ``breaker=`` with a controllable clock …).
    """
    client = await connect(connect_options(settings, **overrides))
    connector = OdooConnector(client, tax_classes=settings.tax_classes)
    try:
        yield connector
    finally:
        await connector.aclose()
