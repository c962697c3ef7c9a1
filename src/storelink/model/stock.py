"""Stock: positions (how much is where) and movements (what changed it).

Stock travels between systems as signed movements, never as absolute
overwrites, so offline sales and central changes add up instead of erasing
each other. Positions are snapshots a movement stream can be checked against.
"""

from __future__ import annotations

from decimal import Decimal
from enum import StrEnum
from uuid import UUID, uuid4

from pydantic import Field, field_validator

from storelink.model.base import CanonicalModel
from storelink.model.types import Code, Quantity, Sku, UtcDateTime


class StockPosition(CanonicalModel):
    """On-hand and reserved quantity of one SKU at one location at a point in time."""

    sku: Sku
    location: Code
    on_hand: Quantity
    reserved: Quantity = Field(default=Decimal(0), ge=0)
    as_of: UtcDateTime

    @property
    def available(self) -> Decimal:
        """What can still be promised: on hand minus reserved."""
        return self.on_hand - self.reserved


class MovementReason(StrEnum):
    SALE = "sale"
    RETURN = "return"
    ADJUSTMENT = "adjustment"
    TRANSFER = "transfer"
    RECEIPT = "receipt"


class StockMovement(CanonicalModel):
    """A signed change of stock of one SKU at one location (negative leaves the location)."""

    id: UUID = Field(default_factory=uuid4)
    sku: Sku
    location: Code
    quantity: Quantity
    reason: MovementReason
    occurred_at: UtcDateTime
    reference: str | None = Field(default=None, max_length=128)

    @field_validator("quantity")
    @classmethod
    def _nonzero(cls, value: Decimal) -> Decimal:
        if value == 0:
            raise ValueError("a stock movement cannot have quantity 0")
        return value
