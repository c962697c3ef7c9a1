"""What a till sends to the local POS API. Unknown fields are refused (422 naming them)."""

from __future__ import annotations

from decimal import Decimal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, field_validator

from storelink.model import Payment
from storelink.model.types import (
    Currency,
    NonNegativeMoney,
    PositiveQuantity,
    Quantity,
    Sku,
    UtcDateTime,
)


class PosRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    #: the transaction uuid; supply it to make retries safe (a repeat returns the first result)
    uuid: UUID | None = None


class SaleLineRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    sku: Sku
    quantity: PositiveQuantity
    #: defaults to the current local price
    unit_price: NonNegativeMoney | None = None
    discount: NonNegativeMoney = Decimal(0)


class SaleRequest(PosRequest):
    till: str = Field(default="1", min_length=1, max_length=32)
    lines: list[SaleLineRequest] = Field(min_length=1)
    payments: list[Payment] = Field(min_length=1)
    customer_id: str | None = Field(default=None, max_length=64)
    currency: Currency | None = None
    occurred_at: UtcDateTime | None = None


class ReturnLineRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    sku: Sku
    quantity: PositiveQuantity
    refund_amount: NonNegativeMoney
    restock: bool = True


class ReturnRequest(PosRequest):
    lines: list[ReturnLineRequest] = Field(min_length=1)
    refunds: list[Payment] = Field(min_length=1)
    original_sale_id: UUID | None = None
    reason: str | None = Field(default=None, max_length=256)
    currency: Currency | None = None
    occurred_at: UtcDateTime | None = None


class AdjustmentRequest(PosRequest):
    sku: Sku
    #: signed: negative removes stock (breakage, theft), positive adds it
    quantity: Quantity
    note: str | None = Field(default=None, max_length=128)

    @field_validator("quantity")
    @classmethod
    def _nonzero(cls, value: Decimal) -> Decimal:
        if value == 0:
            raise ValueError("an adjustment cannot have quantity 0")
        return value


class CountRequest(PosRequest):
    sku: Sku
    counted: Quantity = Field(ge=0)
