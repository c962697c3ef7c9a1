"""One valid instance of every canonical entity, for round-trip and schema tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import UUID

from storelink.model import (
    Address,
    CanonicalModel,
    Customer,
    Invoice,
    Location,
    MovementReason,
    Order,
    OrderLine,
    Payment,
    PaymentMethod,
    Price,
    PriceScope,
    PriceScopeKind,
    Product,
    Promotion,
    PromotionKind,
    Return,
    ReturnLine,
    Sale,
    SaleLine,
    Shipment,
    ShipmentLine,
    StockMovement,
    StockPosition,
    Store,
    WebhookEndpointDisabled,
)

T0 = datetime(2026, 11, 28, 9, 30, tzinfo=UTC)
SALE_ID = UUID("8a1f2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d")

SALE = Sale(
    id=SALE_ID,
    store="S001",
    occurred_at=T0,
    currency="EUR",
    lines=[
        SaleLine(sku="SKU-1", quantity="2", unit_price="3.50"),
        SaleLine(sku="SKU-2", quantity="1", unit_price="10.00", discount="1.00"),
    ],
    payments=[Payment(method=PaymentMethod.CARD, amount="16.00")],
)

SAMPLES: dict[type[CanonicalModel], CanonicalModel] = {
    Store: Store(code="S001", name="Lyon Part-Dieu", location="S001-STOCK"),
    Location: Location(code="S001-STOCK", name="Lyon stock", store="S001"),
    Product: Product(sku="SKU-1", name="Espresso cup", barcode="4006381333931"),
    Price: Price(
        sku="SKU-1",
        scope=PriceScope(kind=PriceScopeKind.STORE, code="S001"),
        amount="3.50",
        currency="EUR",
        version=3,
        valid_from=T0,
        valid_to=T0 + timedelta(days=7),
    ),
    Promotion: Promotion(
        code="XMAS",
        name="Christmas",
        kind=PromotionKind.PERCENT_OFF,
        value="15",
        skus=["SKU-1"],
        valid_from=T0,
    ),
    StockPosition: StockPosition(
        sku="SKU-1", location="S001-STOCK", on_hand="12", reserved="2", as_of=T0
    ),
    StockMovement: StockMovement(
        sku="SKU-1",
        location="S001-STOCK",
        quantity="-2",
        reason=MovementReason.SALE,
        occurred_at=T0,
        reference=str(SALE_ID),
    ),
    Sale: SALE,
    SaleLine: SALE.lines[0],
    Payment: SALE.payments[0],
    Return: Return(
        id=UUID("11111111-2222-4333-8444-555555555555"),
        store="S001",
        occurred_at=T0,
        currency="EUR",
        lines=[ReturnLine(sku="SKU-1", quantity="1", refund_amount="3.50")],
        refunds=[Payment(method=PaymentMethod.CASH, amount="3.50")],
        original_sale_id=SALE_ID,
    ),
    Order: Order(
        id="ord-1",
        channel="WEB",
        external_ref="W-1001",
        currency="EUR",
        lines=[OrderLine(sku="SKU-1", quantity="3", unit_price="3.50")],
        created_at=T0,
    ),
    Shipment: Shipment(
        reference="WH/OUT/00001",
        order_id="ord-1",
        location="WH-STOCK",
        lines=[ShipmentLine(sku="SKU-1", quantity="3")],
        done_at=T0,
    ),
    Invoice: Invoice(reference="INV/2026/0001", amount_total="10.50", currency="EUR", posted_at=T0),
    Customer: Customer(
        id="cust-1",
        name="Ada Lovelace",
        email="ada@example.org",
        phone="+33 1 23 45 67 89",
        address=Address(street="1 rue de la Paix", city="Paris", postcode="75002", country="FR"),
        updated_at=T0,
    ),
    WebhookEndpointDisabled: WebhookEndpointDisabled(
        endpoint="ep_1", url="https://partner.example/hooks", reason="410 Gone", disabled_at=T0
    ),
}
