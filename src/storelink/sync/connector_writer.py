"""The drain's :class:`~storelink.sync.writer.OdooWriter` over the Odoo connector.

Sales and returns are recorded idempotently by the connector (store +
transaction uuid). When Odoo refuses a whole batch for a business reason, the
batch is retried one by one so the one bad transaction is told apart and the
rest go through. Adjustments are sent as they are, signed deltas applied once
each (store location + movement uuid, see :mod:`storelink.odoo.adjustments`),
so nothing is read first and a sale Odoo validates meanwhile is kept.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar
from uuid import UUID

from storelink.errors import NotFoundError, OdooBusinessError, OdooError, ValidationError
from storelink.model import Return, Sale, StockMovement, StockPosition
from storelink.odoo import OdooConnector
from storelink.sync.writer import WriteOutcome

T = TypeVar("T")

#: refusals about the records themselves (an unknown SKU, a rule Odoo enforces): retrying
#: cannot help, and they must not hold up the other transactions of the batch
REFUSALS = (OdooBusinessError, NotFoundError, ValidationError)


async def _isolating(
    items: Sequence[T], key: Callable[[T], UUID], write: Callable[[Sequence[T]], Awaitable[Any]]
) -> list[WriteOutcome]:
    try:
        await write(items)
        return [WriteOutcome(key(item)) for item in items]
    except REFUSALS:
        if len(items) == 1:
            raise
    outcomes = []
    for item in items:
        try:
            await write([item])
        except REFUSALS as exc:
            outcomes.append(WriteOutcome(key(item), f"{type(exc).__name__}: {exc}"))
        else:
            outcomes.append(WriteOutcome(key(item)))
    return outcomes


async def _single(
    items: Sequence[T], key: Callable[[T], UUID], write: Callable[[Sequence[T]], Awaitable[Any]]
) -> list[WriteOutcome]:
    try:
        return await _isolating(items, key, write)
    except REFUSALS as exc:
        return [WriteOutcome(key(items[0]), f"{type(exc).__name__}: {exc}")]


class ConnectorWriter:
    """Adapts :class:`~storelink.odoo.OdooConnector` to the drain's seam."""

    def __init__(self, connector: OdooConnector) -> None:
        self.connector = connector

    async def record_sales(self, sales: Sequence[Sale]) -> list[WriteOutcome]:
        return await _single(sales, lambda s: s.id, self.connector.record_store_sales)

    async def record_returns(self, returns: Sequence[Return]) -> list[WriteOutcome]:
        return await _single(returns, lambda r: r.id, self.connector.record_returns)

    async def apply_counts(
        self, counts: Sequence[tuple[UUID, StockPosition]]
    ) -> list[WriteOutcome]:
        async def write(items: Sequence[tuple[UUID, StockPosition]]) -> None:
            await self.connector.apply_stock_counts([position for _, position in items])

        return await _single(counts, lambda item: item[0], write)

    async def apply_adjustments(
        self, movements: Sequence[tuple[UUID, StockMovement]]
    ) -> list[WriteOutcome]:
        async def write(items: Sequence[tuple[UUID, StockMovement]]) -> None:
            await self.connector.apply_stock_adjustments([movement for _, movement in items])

        return await _single(movements, lambda item: item[0], write)

    async def read_positions(self, keys: Sequence[tuple[str, str]]) -> list[StockPosition]:
        wanted = set(keys)
        if not wanted:
            return []
        try:
            positions = await self.connector.read_stock_positions(
                sorted({location for _, location in wanted})
            )
        except OdooBusinessError as exc:
            raise OdooError(f"cannot read stock positions: {exc}") from exc
        return [p for p in positions if (p.sku, p.location) in wanted]
