"""The drain: uploaded store transactions into Odoo, in batches, at Odoo's pace.

Two steps, each safe to repeat after a crash:

1. *write*: the oldest recorded transactions (hub arrival order, so each store's
   sales, returns and counts keep their order) go to Odoo in runs of one kind;
   each is marked ``written`` or ``failed`` (a business refusal, kept with its
   error for a person to look at). A crash before the mark re-sends the batch;
   the writer is idempotent by store + transaction uuid.
2. *apply*: for written transactions, the resulting positions are read back
   from Odoo and stored in the read model under one new revision, together with
   the transactions they now include (the agents' confirmations) and the
   ``stock.moved`` / ``stock.level_changed`` events for channels.

Several hub workers: each drain writes and applies only the stores whose lease it
holds, takes its fair share of the stores with a backlog, and commits every mark
only after checking the store's lease in the same transaction; a batch whose lease
was lost is abandoned to the store's new holder (:mod:`storelink.sync.store_leases`
says what that guarantees and where it stops). One embedded hub is one worker
holding every store. Read-model positions are keyed by location, and a store's
transactions move its own location, so drains of different stores do not write the
same positions.

Backpressure: one batch is in flight at a time, so the drain goes exactly as
fast as Odoo answers; the batch grows while Odoo copes and halves when it
fails (the connector's circuit breaker turns a sick Odoo into fast
:class:`~storelink.errors.CircuitOpenError`), and failures back off with jitter.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from uuid import NAMESPACE_URL, UUID, uuid5

from sqlalchemy import bindparam, func, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from storelink.bus.outbox import enqueue
from storelink.db.leases import LeaseStore
from storelink.db.tables import stock_positions, stores
from storelink.errors import StorelinkError
from storelink.model import (
    Event,
    EventType,
    MovementReason,
    StockMovement,
    StockPosition,
    stock_key,
    utcnow,
)
from storelink.ops.identity import worker_id
from storelink.ops.logging import get_logger
from storelink.sync.backoff import Backoff
from storelink.sync.contacts import BACKLOG, SYNC_LAG
from storelink.sync.dialect import upsert_insert
from storelink.sync.revisions import next_revision
from storelink.sync.store_leases import StoreLeases
from storelink.sync.tables import store_contacts, sync_transactions
from storelink.sync.uploads import FAILED, RECORDED, WRITTEN
from storelink.sync.wire import StoreTransaction, TransactionKind
from storelink.sync.writer import OdooWriter, WriteOutcome

_log = get_logger("storelink.sync.drain")


@dataclass(frozen=True, slots=True)
class DrainPolicy:
    """Batch sizing: start at ``initial_batch``, grow by ``grow`` per good batch up to
    ``max_batch``, halve on failure down to ``min_batch``."""

    initial_batch: int = 100
    min_batch: int = 1
    #: the connector sends at most ``odoo.batch_size`` (200) records per call anyway
    max_batch: int = 200
    grow: int = 50
    idle_s: float = 0.5


@dataclass(frozen=True, slots=True)
class _Held:
    id: int
    store: str
    transaction: StoreTransaction


@dataclass
class Drain:
    """Moves recorded store transactions into Odoo; see the module docstring.

    ``leases`` are this worker's store leases; by default this process's worker id
    on ``engine`` with a 10 s TTL.
    """

    engine: AsyncEngine
    writer: OdooWriter
    policy: DrainPolicy = field(default_factory=DrainPolicy)
    backoff: Backoff = field(default_factory=lambda: Backoff(base_s=0.5, cap_s=30.0))
    clock: Callable[[], datetime] = utcnow
    batch_size: int = 0
    leases: StoreLeases | None = None
    store_leases: StoreLeases = field(init=False)

    def __post_init__(self) -> None:
        self.batch_size = self.batch_size or self.policy.initial_batch
        self.store_leases = self.leases or StoreLeases(LeaseStore(self.engine), worker_id())

    async def run_once(self) -> int:
        """Write one batch and apply what is written; return how many transactions moved.

        Raises the writer's error (e.g. :class:`~storelink.errors.OdooTransportError`)
        after keeping whatever the batch achieved before it.
        """
        try:
            await self.store_leases.rebalance(await self._backlog())
            written = await self._write_batch()
            applied = await self._apply_written()
        except StorelinkError:
            self.batch_size = max(self.policy.min_batch, self.batch_size // 2)
            raise
        finally:
            await self.refresh_metrics()
        if written:
            self.batch_size = min(self.policy.max_batch, self.batch_size + self.policy.grow)
        return written + applied

    async def run(self, stop: asyncio.Event) -> None:
        """Drain until ``stop`` is set, idling when there is nothing to do; the store leases
        are renewed beside it and given up when it stops."""
        keeper = asyncio.create_task(self.store_leases.keep_alive(stop))
        try:
            while not stop.is_set():
                try:
                    done = await self.run_once()
                except StorelinkError as exc:
                    delay = self.backoff.next_delay()
                    _log.warning("drain paused", error=str(exc), retry_in_s=round(delay, 2))
                else:
                    self.backoff.reset()
                    delay = 0.0 if done else self.policy.idle_s
                if delay:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(stop.wait(), timeout=delay)
        finally:
            keeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await keeper
            try:
                await self.store_leases.release_all()
            except Exception as exc:  # they expire after their TTL anyway
                _log.warning("drain could not give its store leases up", error=str(exc))

    async def _backlog(self) -> set[str]:
        """Stores with transactions to write or to apply."""
        t = sync_transactions
        recorded = select(t.c.store).where(t.c.status == RECORDED).distinct()
        unapplied = (
            select(t.c.store)
            .where(t.c.status == WRITTEN, t.c.applied_revision.is_(None))
            .distinct()
        )
        async with self.engine.connect() as connection:
            return set((await connection.execute(recorded.union(unapplied))).scalars())

    async def _held(self, status: str, limit: int) -> list[_Held]:
        """The oldest transactions in ``status`` of the stores this worker holds."""
        mine = sorted(self.store_leases.stores)
        if not mine:
            return []
        query = select(
            sync_transactions.c.id, sync_transactions.c.store, sync_transactions.c.payload
        )
        query = query.where(
            sync_transactions.c.status == status, sync_transactions.c.store.in_(mine)
        )
        if status == WRITTEN:
            query = query.where(sync_transactions.c.applied_revision.is_(None))
        async with self.engine.connect() as connection:
            rows = (
                await connection.execute(query.order_by(sync_transactions.c.id).limit(limit))
            ).all()
        return [
            _Held(row.id, row.store, StoreTransaction.model_validate_json(row.payload))
            for row in rows
        ]

    async def _write_batch(self) -> int:
        held = await self._held(RECORDED, self.batch_size)
        written = 0
        for kind, group in itertools.groupby(held, key=lambda h: h.transaction.kind):
            # a store whose lease is gone sends nothing more: its new holder starts over
            # from its oldest unmarked transaction, so the store's order still holds
            run = await self._still_mine(list(group))
            if not run:
                continue
            # A failed run ends the batch: nothing after it may overtake it (order per store).
            results = await self._write(kind, [h.transaction for h in run])
            # Marked run by run: a crash can then only repeat the one run in flight, which
            # the writer's idempotency absorbs (a re-applied count cannot undo later sales).
            outcomes = {outcome.uuid: outcome for outcome in results}
            written += await self._mark(run, outcomes)
        return written

    async def _still_mine(self, run: list[_Held]) -> list[_Held]:
        """``run`` without the transactions of stores whose lease was lost meanwhile."""
        stores = {item.store for item in run}
        mine = await self.store_leases.still_held(stores)
        lost = [item for item in run if item.store not in mine]
        self.store_leases.abandon(
            {item.store for item in lost}, stage="write", transactions=len(lost)
        )
        return [item for item in run if item.store in mine]

    async def _mark(self, run: Sequence[_Held], outcomes: dict[UUID, WriteOutcome]) -> int:
        """Commit what Odoo said about ``run``, for the stores still held; how many marked."""
        now = self.clock()
        answered = [item for item in run if item.transaction.uuid in outcomes]
        if not answered:
            return 0
        async with self.engine.begin() as connection:
            mine = await self.store_leases.fence(connection, {item.store for item in answered})
            marks = [
                {
                    "row_id": item.id,
                    "new_status": FAILED if outcomes[item.transaction.uuid].error else WRITTEN,
                    "error": outcomes[item.transaction.uuid].error,
                }
                for item in answered
                if item.store in mine
            ]
            if marks:
                await connection.execute(
                    update(sync_transactions)
                    .where(sync_transactions.c.id == bindparam("row_id"))
                    .values(
                        status=bindparam("new_status"),
                        last_error=bindparam("error"),
                        attempts=sync_transactions.c.attempts + 1,
                        written_at=now,
                    ),
                    marks,
                )
        lost = [item for item in answered if item.store not in mine]
        self.store_leases.abandon(
            {item.store for item in lost}, stage="write", transactions=len(lost)
        )
        for item in answered:
            outcome = outcomes[item.transaction.uuid]
            if item.store in mine and outcome.error:
                _log.error(
                    "odoo refused a store transaction",
                    store=item.store,
                    uuid=str(item.transaction.uuid),
                    error=outcome.error,
                )
        return len(marks)

    async def _write(
        self, kind: TransactionKind, run: Sequence[StoreTransaction]
    ) -> list[WriteOutcome]:
        if kind is TransactionKind.SALE:
            return await self.writer.record_sales([t.sale for t in run if t.sale])
        if kind is TransactionKind.RETURN:
            return await self.writer.record_returns([t.return_ for t in run if t.return_])
        if kind is TransactionKind.COUNT:
            return await self.writer.apply_counts([(t.uuid, t.count) for t in run if t.count])
        return await self.writer.apply_adjustments(
            [(t.uuid, t.adjustment) for t in run if t.adjustment]
        )

    async def _apply_written(self) -> int:
        held = await self._held(WRITTEN, self.policy.max_batch)
        if not held:
            return 0
        async with self.engine.connect() as connection:
            rows = (await connection.execute(select(stores.c.code, stores.c.location))).all()
        locations = {str(row.code): str(row.location) for row in rows}
        moved = {h.id: _movements(h, locations.get(h.store, h.store)) for h in held}
        keys = _touched(held, moved)
        found = {(p.sku, p.location): p for p in await self.writer.read_positions(keys)}
        now = self.clock()
        async with self.engine.begin() as connection:
            mine = await self.store_leases.fence(connection, {h.store for h in held})
            lost = [h for h in held if h.store not in mine]
            held = [h for h in held if h.store in mine]
            if not held:
                await connection.rollback()
                self.store_leases.abandon(
                    {h.store for h in lost}, stage="apply", transactions=len(lost)
                )
                return 0
            movements = [m for h in held for m in moved[h.id]]
            keys = _touched(held, moved)
            positions = [
                found.get(key)
                or StockPosition(sku=key[0], location=key[1], on_hand=Decimal(0), as_of=now)
                for key in keys
            ]
            revision = await next_revision(connection)
            statement = upsert_insert(connection, stock_positions)
            changing = ("on_hand", "reserved", "as_of", "revision")
            await connection.execute(
                statement.on_conflict_do_update(
                    index_elements=[stock_positions.c.sku, stock_positions.c.location],
                    set_={column: statement.excluded[column] for column in changing},
                ),
                [
                    {
                        "sku": position.sku,
                        "location": position.location,
                        "on_hand": position.on_hand,
                        "reserved": position.reserved,
                        "as_of": position.as_of,
                        "revision": revision,
                    }
                    for position in positions
                ],
            )
            await connection.execute(
                update(sync_transactions)
                .where(sync_transactions.c.id.in_([h.id for h in held]))
                .values(applied_revision=revision)
            )
            await enqueue(connection, _events(movements, positions, revision))
        self.store_leases.abandon({h.store for h in lost}, stage="apply", transactions=len(lost))
        return len(held)

    async def refresh_metrics(self) -> None:
        """Set each store's backlog and sync lag gauges from the table."""
        now = self.clock()
        async with self.engine.connect() as connection:
            known = (await connection.execute(select(store_contacts.c.store))).scalars().all()
            pending = (
                await connection.execute(
                    select(
                        sync_transactions.c.store,
                        func.count(),
                        func.min(sync_transactions.c.received_at),
                    )
                    .where(sync_transactions.c.status == RECORDED)
                    .group_by(sync_transactions.c.store)
                )
            ).all()
        for store in known:
            BACKLOG.labels(store).set(0)
            SYNC_LAG.labels(store).set(0)
        for store, count, oldest in pending:
            BACKLOG.labels(store).set(count)
            oldest_at = oldest if isinstance(oldest, datetime) else now
            if oldest_at.tzinfo is None:
                oldest_at = oldest_at.replace(tzinfo=now.tzinfo)
            SYNC_LAG.labels(store).set(max(0.0, (now - oldest_at).total_seconds()))


def _movement_id(store: str, uuid: UUID, index: int) -> UUID:
    return uuid5(NAMESPACE_URL, f"storelink:store-movement:{store}:{uuid}:{index}")


def _movements(held: _Held, location: str) -> list[StockMovement]:
    """The signed stock movements a written transaction caused (counts cause a level change)."""
    transaction, reference = held.transaction, f"{held.store}:{held.transaction.uuid}"
    if transaction.sale is not None:
        sale = transaction.sale
        return [
            StockMovement(
                id=_movement_id(held.store, transaction.uuid, index),
                sku=line.sku,
                location=location,
                quantity=-line.quantity,
                reason=MovementReason.SALE,
                occurred_at=sale.occurred_at,
                reference=reference,
            )
            for index, line in enumerate(sale.lines)
        ]
    if transaction.return_ is not None:
        ret = transaction.return_
        return [
            StockMovement(
                id=_movement_id(held.store, transaction.uuid, index),
                sku=line.sku,
                location=location,
                quantity=line.quantity,
                reason=MovementReason.RETURN,
                occurred_at=ret.occurred_at,
                reference=reference,
            )
            for index, line in enumerate(ret.lines)
            if line.restock
        ]
    if transaction.adjustment is not None:
        # published as stock.moved when it was uploaded; only its position is refreshed
        return [transaction.adjustment]
    return []


def _counted(held: Sequence[_Held]) -> set[tuple[str, str]]:
    return {
        (h.transaction.count.sku, h.transaction.count.location)
        for h in held
        if h.transaction.count is not None
    }


def _touched(held: Sequence[_Held], moved: dict[int, list[StockMovement]]) -> list[tuple[str, str]]:
    """The positions ``held`` (with their movements ``moved``) touch, sorted."""
    keys = {(m.sku, m.location) for h in held for m in moved[h.id]}
    return sorted(keys | _counted(held))


def _events(
    movements: Sequence[StockMovement], positions: Sequence[StockPosition], revision: int
) -> list[Event]:
    events = [
        Event.of(
            EventType.STOCK_MOVED,
            movement,
            source="/sync/drain",
            partitionkey=stock_key(movement.sku, movement.location),
            id=str(uuid5(NAMESPACE_URL, f"storelink:stock-moved:{movement.id}")),
        )
        for movement in movements
        if movement.reason is not MovementReason.ADJUSTMENT
    ]
    events.extend(
        Event.of(
            EventType.STOCK_LEVEL_CHANGED,
            position,
            source="/sync/drain",
            partitionkey=stock_key(position.sku, position.location),
            id=str(
                uuid5(
                    NAMESPACE_URL, f"storelink:level:{position.sku}@{position.location}:{revision}"
                )
            ),
        )
        for position in positions
    )
    return events
