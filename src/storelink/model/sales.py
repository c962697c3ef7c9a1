"""Store transactions: sales and returns recorded at a till."""

from __future__ import annotations

from decimal import Decimal
from enum import StrEnum
from typing import Self
from uuid import UUID

from pydantic import Field, model_validator

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


class PaymentMethod(StrEnum):
    CASH = "cash"
    CARD = "card"
    VOUCHER = "voucher"
    OTHER = "other"


class Payment(CanonicalModel):
    """Money taken (or, on a return, given back). Cash is net of change."""

    method: PaymentMethod
    amount: Money
    reference: str | None = Field(default=None, max_length=128)


class SaleLine(CanonicalModel):
    """One SKU on a receipt: quantity times unit price, less any discount."""

    sku: Sku
    quantity: PositiveQuantity
    unit_price: NonNegativeMoney
    discount: NonNegativeMoney = Decimal(0)

    @property
    def total(self) -> Decimal:
        return self.quantity * self.unit_price - self.discount

    @model_validator(mode="after")
    def _discount_fits(self) -> Self:
        if self.discount > self.quantity * self.unit_price:
            raise ValueError("discount cannot exceed quantity x unit_price")
        return self


def _check_payments(lines_total: Decimal, payments: list[Payment], field: str) -> None:
    paid = sum((p.amount for p in payments), Decimal(0))
    if paid != lines_total:
        raise ValueError(f"{field} add up to {paid}, but the lines total {lines_total}")


class Sale(CanonicalModel):
    """A completed till transaction. ``id`` is the transaction uuid, unique per store.

    The idempotency key of a sale everywhere downstream is ``(store, id)``.
    """

    id: UUID
    store: Code
    till: str = Field(default="1", min_length=1, max_length=32)
    occurred_at: UtcDateTime
    currency: Currency
    lines: list[SaleLine] = Field(min_length=1)
    payments: list[Payment] = Field(min_length=1)
    customer_id: str | None = Field(default=None, max_length=64)

    @property
    def total(self) -> Decimal:
        return sum((line.total for line in self.lines), Decimal(0))

    @model_validator(mode="after")
    def _paid_in_full(self) -> Self:
        _check_payments(self.total, self.payments, "payments")
        return self


class ReturnLine(CanonicalModel):
    """One SKU brought back and what is refunded for it."""

    sku: Sku
    quantity: PositiveQuantity
    refund_amount: NonNegativeMoney
    restock: bool = True


class Return(CanonicalModel):
    """Goods brought back to a store (or a channel), with the refunds paid out."""

    id: UUID
    store: Code
    occurred_at: UtcDateTime
    currency: Currency
    lines: list[ReturnLine] = Field(min_length=1)
    refunds: list[Payment] = Field(min_length=1)
    original_sale_id: UUID | None = None
    reason: str | None = Field(default=None, max_length=256)

    @property
    def total(self) -> Decimal:
        return sum((line.refund_amount for line in self.lines), Decimal(0))

    @model_validator(mode="after")
    def _refunded_in_full(self) -> Self:
        _check_payments(self.total, self.refunds, "refunds")
        return self
