"""What is sold and for how much: products, prices and promotions."""

from __future__ import annotations

from enum import StrEnum
from typing import Self

from pydantic import Field, model_validator

from storelink.model.base import CanonicalModel
from storelink.model.types import Code, Currency, Money, NonNegativeMoney, Sku, UtcDateTime


class Product(CanonicalModel):
    """A sellable product variant, identified by its SKU (Odoo ``default_code``)."""

    sku: Sku
    name: str = Field(min_length=1, max_length=256)
    barcode: str | None = Field(default=None, pattern=r"^[0-9A-Za-z\-]{4,32}$")
    uom: str = Field(default="Units", min_length=1, max_length=32)
    tax_class: str = Field(default="standard", min_length=1, max_length=32)
    category: str | None = None
    active: bool = True


class PriceScopeKind(StrEnum):
    STORE = "store"
    CHANNEL = "channel"
    PRICELIST = "pricelist"


class PriceScope(CanonicalModel):
    """Who a price applies to: one store, one sales channel, or a named pricelist."""

    kind: PriceScopeKind
    code: Code


class Price(CanonicalModel):
    """A versioned, time-windowed price. Among prices valid now, the highest version wins."""

    sku: Sku
    scope: PriceScope
    amount: NonNegativeMoney
    currency: Currency
    version: int = Field(ge=1)
    valid_from: UtcDateTime
    valid_to: UtcDateTime | None = None

    @model_validator(mode="after")
    def _window(self) -> Self:
        if self.valid_to is not None and self.valid_to <= self.valid_from:
            raise ValueError("valid_to must be later than valid_from")
        return self


class PromotionKind(StrEnum):
    PERCENT_OFF = "percent_off"
    AMOUNT_OFF = "amount_off"


class Promotion(CanonicalModel):
    """A discount rule over some SKUs within a time window."""

    code: Code
    name: str = Field(min_length=1, max_length=128)
    kind: PromotionKind
    value: Money = Field(gt=0)
    skus: list[Sku] = Field(min_length=1)
    scope: PriceScope | None = None
    valid_from: UtcDateTime
    valid_to: UtcDateTime | None = None

    @model_validator(mode="after")
    def _rules(self) -> Self:
        if self.kind is PromotionKind.PERCENT_OFF and self.value > 100:
            raise ValueError("a percent_off promotion cannot exceed 100")
        if self.valid_to is not None and self.valid_to <= self.valid_from:
            raise ValueError("valid_to must be later than valid_from")
        return self
