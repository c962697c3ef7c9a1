"""The seam between the drain and Odoo: what the drain needs written and read.

:class:`ConnectorWriter` (in :mod:`storelink.sync.connector_writer`) adapts the
Odoo connector to it; tests and benchmarks may plug in their own.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol
from uuid import UUID

from storelink.model import Return, Sale, StockMovement, StockPosition


@dataclass(frozen=True, slots=True)
class WriteOutcome:
    """What Odoo said about one transaction: ``error`` is ``None`` when it was written.

    A non-retryable business refusal is an outcome, not an exception, so one bad
    sale does not hold up the rest of its batch.
    """

    uuid: UUID
    error: str | None = None


class OdooWriter(Protocol):
    """Batched, idempotent writes into Odoo (keyed by store + transaction uuid).

    Methods raise a retryable :class:`~storelink.errors.OdooError` (transport,
    concurrency, circuit open) when nothing can be said about the batch; the
    drain then retries the whole batch later, relying on the idempotency.
    """

    async def record_sales(self, sales: Sequence[Sale]) -> list[WriteOutcome]: ...

    async def record_returns(self, returns: Sequence[Return]) -> list[WriteOutcome]: ...

    async def apply_counts(
        self, counts: Sequence[tuple[UUID, StockPosition]]
    ) -> list[WriteOutcome]: ...

    async def apply_adjustments(
        self, movements: Sequence[tuple[UUID, StockMovement]]
    ) -> list[WriteOutcome]: ...

    async def read_positions(self, keys: Sequence[tuple[str, str]]) -> list[StockPosition]:
        """Odoo's current position of each ``(sku, location)``; a key Odoo has no stock
        record for may be left out (it means nothing on hand)."""
        ...
