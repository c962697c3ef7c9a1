"""Channel orders (eCommerce, marketplaces) and what Odoo does with them."""

from __future__ import annotations

from decimal import Decimal
from enum import StrEnum

from pydantic import Field

from storelink.model.base import CanonicalModel
from storelink.model.types import (
    Code,
    Currency,
    Money,
    NonNegativeMoney,
    PositiveQuantity,
    Sku,
    UtcDateTime,
)


class OrderStatus(StrEnum):
    RECEIVED = "received"
    CONFIRMED = "confirmed"
    SHIPPED = "shipped"
    CANCELLED = "cancelled"


class OrderLine(CanonicalModel):
    sku: Sku
    quantity: PositiveQuantity
    unit_price: NonNegativeMoney


class Order(CanonicalModel):
    """An order placed on a sales channel; becomes a confirmed ``sale.order`` in Odoo.

    ``(channel, external_ref)`` is unique: the channel's own order number is the
    idempotency key (Odoo ``client_order_ref``).
    """

    id: str = Field(min_length=1, max_length=64)
    channel: Code
    external_ref: str = Field(min_length=1, max_length=64)
    currency: Currency
    lines: list[OrderLine] = Field(min_length=1)
    customer_id: str | None = Field(default=None, max_length=64)
    fulfil_from: Code | None = None
    status: OrderStatus = OrderStatus.RECEIVED
    created_at: UtcDateTime

    @property
    def total(self) -> Decimal:
        return sum((line.quantity * line.unit_price for line in self.lines), Decimal(0))


class ShipmentLine(CanonicalModel):
    sku: Sku
    quantity: PositiveQuantity


class Shipment(CanonicalModel):
    """Goods that left a location for an order (Odoo: a validated outgoing picking)."""

    reference: str = Field(min_length=1, max_length=64)
    order_id: str | None = None
    location: Code
    lines: list[ShipmentLine] = Field(min_length=1)
    done_at: UtcDateTime


class Invoice(CanonicalModel):
    """A posted customer invoice (Odoo ``account.move``)."""

    reference: str = Field(min_length=1, max_length=64)
    order_id: str | None = None
    amount_total: Money
    currency: Currency
    posted_at: UtcDateTime
