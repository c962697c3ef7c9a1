"""The relay: moves committed outbox rows into the event log, in order.

Rows are read in ``id`` order, appended to the log, then marked
``published_at``. A relay that dies between the append and the mark appends
the same events again on its next pass; the log drops an event id it already
holds and consumers drop one they already handled, so the duplicate has no
effect. On PostgreSQL the rows are locked while they are relayed, so several
hub workers can run a relay without interleaving their batches.

Commit order vs id order (PostgreSQL): ids are handed out at insert, so a
transaction holding id 10 can commit after one holding id 11. Publishing 11 as
soon as it is visible and 10 later would break the order per key (promise 4).
So a row is relayed only once every transaction older than its own has ended:
its ``txid`` is below the oldest transaction still running
(``pg_snapshot_xmin``). Then no row with a smaller id can still appear, and
rows go out in id order. The price: a long write transaction anywhere in the
database holds publishing back until it ends. SQLite needs no gate: its one
writer at a time commits rows in id order.
"""

from __future__ import annotations

import asyncio
import time

from sqlalchemy import BigInteger, Text, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from storelink.bus.backend import EventLog
from storelink.bus.tables import outbox
from storelink.bus.worker import idle
from storelink.model import Event, utcnow
from storelink.ops.logging import get_logger

logger = get_logger(__name__)

#: the oldest transaction still running, as a number comparable with ``outbox.txid``
_OLDEST_RUNNING = func.pg_snapshot_xmin(func.pg_current_snapshot()).cast(Text).cast(BigInteger)


class Relay:
    """Publishes the outbox of ``engine`` to ``log``; drive it with ``run_once`` or ``run``."""

    def __init__(
        self,
        engine: AsyncEngine,
        log: EventLog,
        *,
        batch: int = 500,
        poll_interval_s: float = 0.2,
    ) -> None:
        self.engine = engine
        self.log = log
        self.batch = batch
        self.poll_interval_s = poll_interval_s

    async def run_once(self) -> int:
        """Relay one batch of unpublished rows; returns how many were published."""
        async with self.engine.begin() as connection:
            query = (
                select(outbox.c.id, outbox.c.envelope)
                .where(outbox.c.published_at.is_(None))
                .order_by(outbox.c.id)
                .limit(self.batch)
            )
            if connection.dialect.name == "postgresql":
                # rows written before bus_0003 have no txid: nothing can precede them
                ready = or_(outbox.c.txid.is_(None), outbox.c.txid < _OLDEST_RUNNING)
                query = query.where(ready).with_for_update()
            rows = (await connection.execute(query)).all()
            if not rows:
                return 0
            events = [Event.model_validate_json(row.envelope) for row in rows]
            await self.log.append(events)
            await connection.execute(
                update(outbox)
                .where(outbox.c.id.in_([row.id for row in rows]))
                .values(published_at=utcnow())
            )
        return len(rows)

    async def run(self, stop: asyncio.Event) -> None:
        """Relay until ``stop`` is set, sleeping ``poll_interval_s`` when the outbox is empty."""
        while not stop.is_set():
            started = time.monotonic()
            try:
                moved = await self.run_once()
            except Exception:  # a log or database outage: keep the rows, try again
                logger.exception("bus.relay.failed")
                moved = 0
            if moved < self.batch:
                await idle(stop, self.poll_interval_s - (time.monotonic() - started))
