"""What change capture polls in Odoo and what each change becomes in storelink.

A :class:`Feed` names an Odoo model, the fields and domain it is polled with,
and turns a page of changed records into canonical events plus read-model
writes. Event ids are derived from ``(model, id, write_date)``, so the same
change always yields the same event id.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Protocol

from sqlalchemy.ext.asyncio import AsyncConnection

from storelink.model import (
    Event,
    EventType,
    Invoice,
    Order,
    OrderLine,
    OrderStatus,
    Shipment,
    ShipmentLine,
    order_key,
    stock_key,
)
from storelink.odoo import readmodel
from storelink.odoo.catalog import ITEM_FIELDS, PRODUCT_FIELDS
from storelink.odoo.client import from_odoo_datetime, from_odoo_number
from storelink.odoo.connector import OdooConnector
from storelink.odoo.customers import PARTNER_FIELDS
from storelink.odoo.estate import store_from_row
from storelink.odoo.lookups import ALL_RECORDS, many2one_id

SOURCE = "/odoo"
Write = Callable[[AsyncConnection, int], Awaitable[None]]
_NAMESPACE = uuid.UUID("5f0e2c1a-6c1b-4d0e-9a57-0d00a5e1c0de")


def event_id(model: str, row: Mapping[str, Any], suffix: str = "") -> str:
    """A stable event id for one observed change of one record."""
    return str(uuid.uuid5(_NAMESPACE, f"{model}:{row['id']}:{row.get('write_date')}:{suffix}"))


@dataclass
class Captured:
    events: list[Event] = field(default_factory=list)
    writes: list[Write] = field(default_factory=list)


class Feed(Protocol):
    name: str
    model: str
    fields: list[str]
    domain: list[Any]
    context: dict[str, Any]

    async def collect(self, odoo: OdooConnector, rows: Sequence[dict[str, Any]]) -> Captured: ...


def _writer(write: Callable[[AsyncConnection, Any, int], Awaitable[None]], entity: Any) -> Write:
    async def apply(connection: AsyncConnection, revision: int) -> None:
        await write(connection, entity, revision)

    return apply


def _money(value: Any) -> Decimal:
    return from_odoo_number(value or 0)


@dataclass
class ProductFeed:
    name: str = "products"
    model: str = "product.product"
    fields: list[str] = field(default_factory=lambda: list(PRODUCT_FIELDS))
    domain: list[Any] = field(default_factory=lambda: [["default_code", "!=", False]])
    context: dict[str, Any] = field(default_factory=lambda: dict(ALL_RECORDS))

    async def collect(self, odoo: OdooConnector, rows: Sequence[dict[str, Any]]) -> Captured:
        out = Captured()
        products = await odoo.catalog.products_from_rows(rows)
        by_sku = {str(r["default_code"]): r for r in rows}
        for product in products:
            row = by_sku[product.sku]
            out.events.append(
                Event.of(
                    EventType.PRODUCT_CHANGED,
                    product,
                    source=SOURCE,
                    partitionkey=f"product:{product.sku}",
                    id=event_id(self.model, row),
                )
            )
            out.writes.append(_writer(readmodel.write_product, product))
        return out


@dataclass
class PriceFeed:
    name: str = "prices"
    model: str = "product.pricelist.item"
    fields: list[str] = field(default_factory=lambda: list(ITEM_FIELDS))
    domain: list[Any] = field(default_factory=list)
    context: dict[str, Any] = field(default_factory=dict)

    async def collect(self, odoo: OdooConnector, rows: Sequence[dict[str, Any]]) -> Captured:
        out = Captured()
        # one item is one price: its id is the observed write of that item, so writing the
        # same version again later (a rerun re-seeding a database) is a new change, not a clash
        for item, price in await odoo.catalog.prices_with_items(rows):
            out.events.append(
                Event.of(
                    EventType.PRICE_CHANGED,
                    price,
                    source=SOURCE,
                    partitionkey=f"price:{price.sku}",
                    id=event_id(self.model, item),
                )
            )
            out.writes.append(_writer(readmodel.write_price, price))
        return out


@dataclass
class StockFeed:
    """Changed quants name (product, location) pairs; their totals are re-read grouped."""

    name: str = "stock"
    model: str = "stock.quant"
    fields: list[str] = field(default_factory=lambda: ["id", "product_id", "location_id"])
    domain: list[Any] = field(default_factory=list)
    context: dict[str, Any] = field(default_factory=dict)

    async def collect(self, odoo: OdooConnector, rows: Sequence[dict[str, Any]]) -> Captured:
        out = Captured()
        stores = await odoo.lookups.warehouses()
        codes = {b.location_id: code for code, b in stores.items()}
        touched = {
            (many2one_id(r["product_id"]), codes[many2one_id(r["location_id"])])
            for r in rows
            if many2one_id(r["location_id"]) in codes
        }
        if not touched:
            return out
        skus = await odoo.lookups.skus_of(pid for pid, _ in touched)
        wanted = {(skus[pid], code) for pid, code in touched if pid in skus}
        positions = await odoo.stock.read_positions(sorted({code for _, code in wanted}))
        marker = max(str(r.get("write_date")) for r in rows)
        for position in positions:
            if (position.sku, position.location) not in wanted:
                continue
            out.events.append(
                Event.of(
                    EventType.STOCK_LEVEL_CHANGED,
                    position,
                    source=SOURCE,
                    partitionkey=stock_key(position.sku, position.location),
                    id=str(
                        uuid.uuid5(
                            _NAMESPACE,
                            f"stock:{position.sku}@{position.location}:{marker}:{position.on_hand}",
                        )
                    ),
                )
            )
            out.writes.append(_writer(readmodel.write_position, position))
        return out


@dataclass
class StoreFeed:
    name: str = "stores"
    model: str = "stock.warehouse"
    fields: list[str] = field(default_factory=lambda: ["id", "code", "name", "active"])
    domain: list[Any] = field(default_factory=list)
    context: dict[str, Any] = field(default_factory=lambda: dict(ALL_RECORDS))

    async def collect(self, odoo: OdooConnector, rows: Sequence[dict[str, Any]]) -> Captured:
        out = Captured()
        odoo.lookups.stores.clear()
        for row in rows:
            store, location = store_from_row(row)
            out.events.append(
                Event.of(
                    EventType.STORE_CHANGED,
                    store,
                    source=SOURCE,
                    partitionkey=f"store:{store.code}",
                    id=event_id(self.model, row),
                )
            )
            out.writes.append(_writer(readmodel.write_store, (store, location)))
        return out


def _order_identity(row: dict[str, Any]) -> tuple[str, str]:
    """``(channel, external_ref)`` from ``client_order_ref`` ``<channel>:<ref>``, else Odoo's."""
    ref = str(row.get("client_order_ref") or "")
    channel, sep, external = ref.partition(":")
    if sep and channel and external and ":" not in external:
        return channel, external
    return "odoo", str(row["name"])


@dataclass
class OrderFeed:
    """Confirmed and cancelled ``sale.order``s (``state`` ``sale`` / ``cancel``)."""

    name: str = "orders"
    model: str = "sale.order"
    fields: list[str] = field(
        default_factory=lambda: [
            "id", "name", "client_order_ref", "state", "date_order",
            "warehouse_id", "write_date",
        ]
    )  # fmt: skip
    domain: list[Any] = field(default_factory=lambda: [["state", "in", ["sale", "cancel"]]])
    context: dict[str, Any] = field(default_factory=dict)

    async def collect(self, odoo: OdooConnector, rows: Sequence[dict[str, Any]]) -> Captured:
        out = Captured()
        # orders and invoices are in the company currency (multi-currency is not mapped)
        currency = await odoo.lookups.company_currency()
        lines = await odoo.client.search_read(
            "sale.order.line",
            [["order_id", "in", [int(r["id"]) for r in rows]]],
            ["order_id", "product_id", "product_uom_qty", "price_unit"],
        )
        skus = await odoo.lookups.skus_of(many2one_id(line["product_id"]) for line in lines)
        by_order: dict[int, list[OrderLine]] = {}
        for line in lines:
            sku = skus.get(many2one_id(line["product_id"]))
            qty = _money(line["product_uom_qty"])
            if sku is None or qty <= 0:
                continue
            by_order.setdefault(many2one_id(line["order_id"]), []).append(
                OrderLine(sku=sku, quantity=qty, unit_price=_money(line["price_unit"]))
            )
        for row in rows:
            order_lines = by_order.get(int(row["id"]))
            if not order_lines:
                continue
            channel, external = _order_identity(row)
            confirmed = row["state"] == "sale"
            order = Order(
                id=f"{channel}:{external}"[:64],
                channel=channel if len(channel) <= 32 else "odoo",
                external_ref=external[:64],
                currency=currency,
                lines=order_lines,
                status=OrderStatus.CONFIRMED if confirmed else OrderStatus.CANCELLED,
                created_at=from_odoo_datetime(row.get("date_order") or row["write_date"]),
            )
            out.events.append(
                Event.of(
                    EventType.ORDER_CONFIRMED if confirmed else EventType.ORDER_CANCELLED,
                    order,
                    source=SOURCE,
                    partitionkey=order_key(order.id),
                    subject=str(row["name"]),
                    id=event_id(self.model, row, str(row["state"])),
                )
            )
        return out


@dataclass
class ShipmentFeed:
    """Validated outgoing pickings (``picking_type_id.code="outgoing"``, ``state="done"``)."""

    name: str = "shipments"
    model: str = "stock.picking"
    fields: list[str] = field(
        default_factory=lambda: ["id", "name", "origin", "location_id", "date_done", "write_date"]
    )
    domain: list[Any] = field(
        default_factory=lambda: [["picking_type_id.code", "=", "outgoing"], ["state", "=", "done"]]
    )
    context: dict[str, Any] = field(default_factory=dict)

    async def collect(self, odoo: OdooConnector, rows: Sequence[dict[str, Any]]) -> Captured:
        out = Captured()
        quantity = odoo.client.dialect.move_done_field
        moves = await odoo.client.search_read(
            "stock.move",
            [["picking_id", "in", [int(r["id"]) for r in rows]]],
            ["picking_id", "product_id", quantity],
        )
        skus = await odoo.lookups.skus_of(many2one_id(m["product_id"]) for m in moves)
        stores = await odoo.lookups.warehouses()
        codes = {b.location_id: code for code, b in stores.items()}
        by_picking: dict[int, list[ShipmentLine]] = {}
        for move in moves:
            sku = skus.get(many2one_id(move["product_id"]))
            qty = _money(move.get(quantity))
            if sku is not None and qty > 0:
                by_picking.setdefault(many2one_id(move["picking_id"]), []).append(
                    ShipmentLine(sku=sku, quantity=qty)
                )
        for row in rows:
            lines = by_picking.get(int(row["id"]))
            location = codes.get(many2one_id(row["location_id"]))
            done = from_odoo_datetime(row.get("date_done")) or from_odoo_datetime(row["write_date"])
            if not lines or location is None or done is None:
                continue
            shipment = Shipment(
                reference=str(row["name"])[:64],
                order_id=str(row["origin"])[:64] if row.get("origin") else None,
                location=location,
                lines=lines,
                done_at=done,
            )
            out.events.append(
                Event.of(
                    EventType.SHIPMENT_DONE,
                    shipment,
                    source=SOURCE,
                    partitionkey=order_key(shipment.order_id or shipment.reference),
                    id=event_id(self.model, row, "done"),
                )
            )
        return out


@dataclass
class InvoiceFeed:
    """Posted customer invoices (``account.move`` ``out_invoice``, ``state='posted'``)."""

    name: str = "invoices"
    model: str = "account.move"
    fields: list[str] = field(
        default_factory=lambda: [
            "id", "name", "invoice_origin", "amount_total", "write_date",
        ]
    )  # fmt: skip
    domain: list[Any] = field(
        default_factory=lambda: [["move_type", "=", "out_invoice"], ["state", "=", "posted"]]
    )
    context: dict[str, Any] = field(default_factory=dict)

    async def collect(self, odoo: OdooConnector, rows: Sequence[dict[str, Any]]) -> Captured:
        out = Captured()
        currency = await odoo.lookups.company_currency()
        for row in rows:
            posted = from_odoo_datetime(row["write_date"])
            if posted is None:
                continue
            invoice = Invoice(
                reference=str(row["name"])[:64],
                order_id=str(row["invoice_origin"])[:64] if row.get("invoice_origin") else None,
                amount_total=_money(row["amount_total"]),
                currency=currency,
                posted_at=posted,
            )
            out.events.append(
                Event.of(
                    EventType.INVOICE_POSTED,
                    invoice,
                    source=SOURCE,
                    partitionkey=order_key(invoice.order_id or invoice.reference),
                    id=event_id(self.model, row, "posted"),
                )
            )
        return out


@dataclass
class CustomerFeed:
    """Partners bound to a storelink customer id."""

    name: str = "customers"
    model: str = "res.partner"
    fields: list[str] = field(default_factory=lambda: list(PARTNER_FIELDS))
    domain: list[Any] = field(default_factory=list)
    context: dict[str, Any] = field(default_factory=dict)

    async def collect(self, odoo: OdooConnector, rows: Sequence[dict[str, Any]]) -> Captured:
        out = Captured()
        names = await odoo.client.search_read(
            "ir.model.data",
            [
                ["module", "=", "storelink"],
                ["model", "=", "res.partner"],
                ["res_id", "in", [int(r["id"]) for r in rows]],
            ],
            ["name", "res_id"],
        )
        keys = {
            int(n["res_id"]): str(n["name"]).split("__", 1)[1]
            for n in names
            if str(n["name"]).startswith("customer__")
        }
        by_id = {int(r["id"]): r for r in rows}
        for customer in await odoo.customers.from_rows(rows, keys):
            row = next(r for pid, r in by_id.items() if keys.get(pid) == customer.id)
            out.events.append(
                Event.of(
                    EventType.CUSTOMER_CHANGED,
                    customer,
                    source=SOURCE,
                    partitionkey=f"customer:{customer.id}",
                    id=event_id(self.model, row),
                )
            )
        return out


def default_feeds() -> list[Feed]:
    """Every feed change capture runs, in dependency order (stores before stock)."""
    return [
        StoreFeed(),
        ProductFeed(),
        PriceFeed(),
        StockFeed(),
        OrderFeed(),
        ShipmentFeed(),
        InvoiceFeed(),
        CustomerFeed(),
    ]
