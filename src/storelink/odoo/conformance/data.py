"""The fixed data of the conformance scenario: same uuids, dates, SKUs and store codes every run.

Store codes, SKUs, customer ids and channel references all start with a
prefix of their own (``CN``, ``CF-``, ``cust-``, ``web:``) so read-backs can
keep only what the scenario wrote, whatever else the database holds.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from uuid import UUID

from storelink.model import (
    Address,
    Customer,
    MovementReason,
    Order,
    OrderLine,
    Payment,
    PaymentMethod,
    Price,
    PriceScope,
    PriceScopeKind,
    Product,
    Return,
    ReturnLine,
    Sale,
    SaleLine,
    StockMovement,
    StockPosition,
    Store,
)

WHEN = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
SKU_PREFIX = "CF-"
STORE_PREFIX = "CN"
#: the tax class the scenario maps, and the sale tax of Odoo's generic chart it maps to
TAX_CLASSES = {"standard": "15%"}
#: where Odoo is told to send webhooks: a closed port on loopback (nothing listens)
HUB_URL = "http://127.0.0.1:9/storelink"
WEBHOOK_TOKEN = "conformance-token"
#: a record id no fresh database has
MISSING_ID = 999999


def fixed_uuid(n: int) -> UUID:
    return UUID(f"00000000-0000-4000-8000-{n:012d}")


STORES = [
    Store(code="CNA", name="Conformance North", location="CNA", currency="USD"),
    Store(code="CNB", name="Conformance South", location="CNB", currency="USD"),
]
RENAMED = [STORES[0], STORES[1].model_copy(update={"name": "Conformance South (renamed)"})]
STORE_CODES = [s.code for s in STORES]

PRODUCTS = [
    Product(sku="CF-CUP", name="Conformance cup", barcode="4006381333931"),
    Product(sku="CF-JUG", name="Conformance jug"),
    Product(sku="CF-OLD", name="Conformance retired", active=False),
]
RENAMED_PRODUCTS = [PRODUCTS[0].model_copy(update={"name": "Conformance cup (new)"}), *PRODUCTS[1:]]
SKUS = [p.sku for p in PRODUCTS]


def _price(sku: str, kind: PriceScopeKind, code: str, amount: str, version: int) -> Price:
    return Price(
        sku=sku,
        scope=PriceScope(kind=kind, code=code),
        amount=Decimal(amount),
        currency="USD",
        version=version,
        valid_from=WHEN,
        valid_to=datetime(2026, 12, 31, 23, 0, tzinfo=UTC)
        if kind is PriceScopeKind.STORE
        else None,
    )


PRICES = [
    _price("CF-CUP", PriceScopeKind.PRICELIST, "list", "2.50", 1),
    _price("CF-JUG", PriceScopeKind.PRICELIST, "list", "12.00", 1),
    _price("CF-CUP", PriceScopeKind.STORE, "CNA", "2.20", 1),
    _price("CF-JUG", PriceScopeKind.CHANNEL, "web", "11.00", 2),
]

CUSTOMERS = [
    Customer(
        id="cust-001",
        name="Ada Conformance",
        email="ada@example.com",
        phone="+1 555 0100",
        address=Address(street="1 Main St", city="Springfield", postcode="12345", country="US"),
        updated_at=WHEN,
    ),
    Customer(id="cust-002", name="Bob Conformance", updated_at=WHEN),
]

COUNTS = [
    StockPosition(sku="CF-CUP", location="CNA", on_hand=Decimal(20), as_of=WHEN),
    StockPosition(sku="CF-JUG", location="CNA", on_hand=Decimal(5), as_of=WHEN),
    StockPosition(sku="CF-JUG", location="CNB", on_hand=Decimal(7), as_of=WHEN),
]

ADJUSTMENTS = [
    StockMovement(
        id=fixed_uuid(201),
        sku="CF-CUP",
        location="CNA",
        quantity=Decimal(-2),
        reason=MovementReason.ADJUSTMENT,
        occurred_at=WHEN,
    ),
    StockMovement(
        id=fixed_uuid(202),
        sku="CF-JUG",
        location="CNB",
        quantity=Decimal(3),
        reason=MovementReason.RECEIPT,
        occurred_at=WHEN,
    ),
]


def _sale(n: int, store: str, lines: list[tuple[str, int, str]], method: PaymentMethod) -> Sale:
    sale_lines = [SaleLine(sku=s, quantity=Decimal(q), unit_price=Decimal(p)) for s, q, p in lines]
    total = sum((line.total for line in sale_lines), Decimal(0))
    return Sale(
        id=fixed_uuid(n),
        store=store,
        occurred_at=WHEN,
        currency="USD",
        lines=sale_lines,
        payments=[Payment(method=method, amount=total)],
        customer_id="cust-001" if n == 103 else None,
    )


SALES = [
    _sale(101, "CNA", [("CF-CUP", 2, "2.50"), ("CF-JUG", 1, "12.00")], PaymentMethod.CASH),
    _sale(102, "CNA", [("CF-CUP", 1, "2.50")], PaymentMethod.CARD),
    _sale(103, "CNB", [("CF-JUG", 1, "12.00")], PaymentMethod.CASH),
]
RETURNS = [
    Return(
        id=fixed_uuid(111),
        store="CNA",
        occurred_at=WHEN,
        currency="USD",
        lines=[ReturnLine(sku="CF-CUP", quantity=Decimal(1), refund_amount=Decimal("2.50"))],
        refunds=[Payment(method=PaymentMethod.CASH, amount=Decimal("2.50"))],
        original_sale_id=fixed_uuid(101),
    )
]

ORDERS = [
    Order(
        id="web:ORD-1",
        channel="web",
        external_ref="ORD-1",
        currency="USD",
        lines=[OrderLine(sku="CF-CUP", quantity=Decimal(1), unit_price=Decimal("2.50"))],
        customer_id="cust-001",
        fulfil_from="CNA",
        created_at=WHEN,
    ),
    Order(
        id="web:ORD-2",
        channel="web",
        external_ref="ORD-2",
        currency="USD",
        lines=[OrderLine(sku="CF-JUG", quantity=Decimal(2), unit_price=Decimal("12.00"))],
        created_at=WHEN,
    ),
]
#: the change-capture cursor the scenario reads from (before anything it wrote)
CAPTURE_FROM = datetime(2000, 1, 1, tzinfo=UTC)
