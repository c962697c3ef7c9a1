"""What travels between a store agent and the hub: uploaded transactions and delta pages.

Both sides import these models, so the agent and the hub cannot disagree on the
shape of a batch. A store transaction is one of four kinds, each carrying its
canonical payload; ``(store, uuid)`` is its idempotency key everywhere.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any, Self
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, model_validator

from storelink.model import Price, Product, Return, Sale, StockMovement, StockPosition
from storelink.model.types import Quantity, UtcDateTime


class TransactionKind(StrEnum):
    SALE = "sale"
    RETURN = "return"
    ADJUSTMENT = "adjustment"
    COUNT = "count"


class Wire(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class StoreTransaction(Wire):
    """One till or back-office transaction recorded by an agent, as uploaded."""

    uuid: UUID
    kind: TransactionKind
    recorded_at: UtcDateTime
    #: the sale made local stock negative; recorded anyway, flagged for review
    flagged: bool = False
    sale: Sale | None = None
    return_: Return | None = Field(default=None, alias="return")
    adjustment: StockMovement | None = None
    count: StockPosition | None = None

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    @model_validator(mode="after")
    def _one_payload(self) -> Self:
        present = {
            TransactionKind.SALE: self.sale,
            TransactionKind.RETURN: self.return_,
            TransactionKind.ADJUSTMENT: self.adjustment,
            TransactionKind.COUNT: self.count,
        }
        if present[self.kind] is None:
            raise ValueError(f"a {self.kind} transaction needs its {self.kind} payload")
        others = [kind for kind, value in present.items() if kind != self.kind and value]
        if others:
            raise ValueError(f"a {self.kind} transaction cannot carry {others[0]}")
        return self

    def wire(self) -> dict[str, Any]:
        """JSON-ready form (``return`` spelled as on the wire)."""
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)


class UploadBatch(Wire):
    transactions: list[StoreTransaction] = Field(min_length=1, max_length=5000)


class UploadResult(Wire):
    """``accepted`` were new; ``duplicates`` were already at the hub (a resent batch)."""

    accepted: list[UUID]
    duplicates: list[UUID]


class Dataset(StrEnum):
    PRODUCTS = "products"
    PRICES = "prices"
    STOCK = "stock"


class StockRow(Wire):
    """A hub stock position of the store's location, with its read-model revision."""

    sku: str
    on_hand: Quantity
    reserved: Quantity
    as_of: UtcDateTime
    revision: int


class Confirmation(Wire):
    """The store transaction ``uuid`` is now included in the hub positions of this revision."""

    uuid: UUID
    revision: int


class DeltaPage(Wire):
    """Rows changed after ``after`` up to and including ``until``, oldest first.

    A page never splits one revision, so ``until`` is a safe cursor to resume from.
    """

    dataset: Dataset
    after: int
    until: int
    more: bool
    #: the store's stock location (stock pages), so counts and adjustments name it
    location: str | None = None
    products: list[Product] = Field(default_factory=list)
    prices: list[Price] = Field(default_factory=list)
    stock: list[StockRow] = Field(default_factory=list)
    confirmations: list[Confirmation] = Field(default_factory=list)
