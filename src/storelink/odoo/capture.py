"""Change capture: poll Odoo per feed from a durable ``(write_date, id)`` cursor.

Odoo reads ``write_date`` to the second while storing it more precisely, so a
cursor cannot simply be "after (write_date, id)". The cursor means: every
record written before second ``S`` is captured, and within ``S`` every record
with ``id <= I``. One pass of a feed:

1. pages the rest of second ``S`` by id (``S <= write_date < S+1s``, ``id > I``);
2. reads from ``S+1s`` on, ordered by ``write_date, id``; all seconds of a full
   page but its last are complete (Odoo orders by the precise value, so one
   second's records are contiguous) and are captured; the last second is left
   for step 1 of the next round.

A second is only captured once it has *settled* (``settle_s`` behind the
capture clock): a record written again later in the same second, or committed
late by a long transaction with an earlier ``write_date``, would otherwise fall
behind the cursor. Fresh records make :meth:`ChangeCapture.run` poll again as
soon as they settle.

Each page's events (through the outbox), read-model rows and the new cursor
commit in one transaction, guarded by a compare-and-swap on the cursor
``version``: a second poller racing on the same feed rolls back instead of
emitting twice. Records sharing one ``write_date`` are neither skipped nor repeated.

Odoo's native webhooks only *hint* (:data:`HINTS`): they make :meth:`ChangeCapture.run`
poll at once instead of waiting for the next interval.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from storelink.bus.outbox import enqueue
from storelink.model import utcnow
from storelink.odoo.client import ODOO_DATETIME, from_odoo_datetime
from storelink.odoo.connector import OdooConnector
from storelink.odoo.feeds import Feed, default_feeds
from storelink.odoo.tables import odoo_cursors
from storelink.ops.logging import get_logger

SECOND = timedelta(seconds=1)
log = get_logger(__name__)


def _first_line(exc: Exception) -> str:
    # a database error's text goes on with its SQL and parameters: the first line says why
    lines = str(exc).splitlines()
    return f"{type(exc).__name__}: {lines[0] if lines else ''}"


class CaptureFailed(Exception):
    """One or more feeds could not be captured this round (the others were)."""

    def __init__(self, errors: dict[str, Exception], *, captured: int) -> None:
        self.errors = errors
        self.captured = captured
        named = "; ".join(f"{name}: {_first_line(exc)}" for name, exc in errors.items())
        super().__init__(f"change capture failed for {len(errors)} feed(s): {named}")


class PollHints:
    """In-process wake-up calls from the webhook intake to the pollers."""

    def __init__(self) -> None:
        self._events: dict[asyncio.AbstractEventLoop, asyncio.Event] = {}
        self.models: set[str] = set()

    def _event(self) -> asyncio.Event:
        loop = asyncio.get_running_loop()
        for other in [lp for lp in self._events if lp.is_closed()]:
            del self._events[other]
        return self._events.setdefault(loop, asyncio.Event())

    def notify(self, model: str) -> None:
        """Ask pollers to run now (call from the event loop the pollers run in)."""
        self.models.add(model)
        self._event().set()

    async def wait(self, within_s: float) -> bool:
        """Wait up to ``within_s`` seconds for a hint; whether one came."""
        event = self._event()
        try:
            await asyncio.wait_for(event.wait(), within_s)
        except TimeoutError:
            return False
        event.clear()
        self.models.clear()
        return True


HINTS = PollHints()


@dataclass(frozen=True)
class Cursor:
    write_date: datetime | None
    record_id: int
    version: int


def _odoo(value: datetime) -> str:
    return value.strftime(ODOO_DATETIME)


def _second(row: dict[str, Any]) -> datetime:
    stamp = from_odoo_datetime(row["write_date"])
    if stamp is None:
        raise ValueError("record without write_date")
    return stamp


class ChangeCapture:
    """Polls every feed and commits what changed; drive it with :meth:`run_once` or :meth:`run`."""

    def __init__(
        self,
        engine: AsyncEngine,
        connector: OdooConnector,
        *,
        feeds: Sequence[Feed] | None = None,
        page_size: int | None = None,
        interval_s: float = 30.0,
        settle_s: float = 2.0,
        clock: Callable[[], datetime] = utcnow,
        hints: PollHints = HINTS,
    ) -> None:
        self.engine = engine
        self.odoo = connector
        self.feeds = list(feeds) if feeds is not None else default_feeds()
        self.page_size = page_size or connector.client.batch_size
        self.interval_s = interval_s
        self.settle_s = settle_s
        self.clock = clock
        self.hints = hints
        #: the last pass left records that had not settled yet
        self.fresh_pending = False
        #: feeds the last pass could not capture, with why (empty when all went through)
        self.failing: dict[str, str] = {}

    async def run_once(self) -> int:
        """Capture everything changed since each feed's cursor; the number of records seen.

        Feeds fail alone: a feed whose page cannot be captured keeps its cursor (the next
        round retries it) while the feeds after it still run, so one broken record type
        never stalls stock or orders. The failures are logged, kept in :attr:`failing`
        and raised together as :class:`CaptureFailed` once every feed had its turn.
        """
        total = 0
        self.fresh_pending = False
        errors: dict[str, Exception] = {}
        for feed in self.feeds:
            try:
                while True:
                    seen, more = await self._page(feed)
                    total += seen
                    if not more:
                        break
            except Exception as exc:  # the next round retries this feed from its cursor
                log.warning(
                    "odoo.capture_failed", feed=feed.name, error=str(exc), kind=type(exc).__name__
                )
                errors[feed.name] = exc
        self.failing = {name: _first_line(exc) for name, exc in errors.items()}
        if errors:
            raise CaptureFailed(errors, captured=total)
        return total

    async def run(self, stop: asyncio.Event) -> None:
        """Poll every ``interval_s`` (or at once on a webhook hint) until ``stop`` is set."""
        while not stop.is_set():
            # a failed feed was logged and keeps its cursor: the next round retries it
            with contextlib.suppress(CaptureFailed):
                await self.run_once()
            pause = self.settle_s + 0.5 if self.fresh_pending else self.interval_s
            waiter = asyncio.ensure_future(stop.wait())
            hint = asyncio.ensure_future(self.hints.wait(pause))
            await asyncio.wait({waiter, hint}, return_when=asyncio.FIRST_COMPLETED)
            for task in (waiter, hint):
                task.cancel()

    async def cursor(self, feed: str) -> Cursor:
        async with self.engine.connect() as connection:
            row = (
                await connection.execute(select(odoo_cursors).where(odoo_cursors.c.feed == feed))
            ).one_or_none()
        if row is None:
            return Cursor(None, 0, 0)
        return Cursor(row.write_date, int(row.record_id), int(row.version))

    async def _read(self, feed: Feed, domain: list[Any], order: str) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = await self.odoo.client.search_read(
            feed.model,
            [*feed.domain, *domain],
            sorted({*feed.fields, "id", "write_date"}),
            order=order,
            limit=self.page_size,
            context=feed.context,
        )
        return rows

    async def _page(self, feed: Feed) -> tuple[int, bool]:
        """One page of one feed: ``(records captured, whether more may be waiting)``."""
        cursor = await self.cursor(feed.name)
        horizon = (self.clock() - timedelta(seconds=self.settle_s)).replace(microsecond=0)
        seen = 0
        after: list[Any] = []
        if cursor.write_date is not None:
            start = cursor.write_date
            if start >= horizon:
                self.fresh_pending = True
                return 0, False
            rows = await self._read(
                feed,
                [
                    ["write_date", ">=", _odoo(start)],
                    ["write_date", "<", _odoo(start + SECOND)],
                    ["id", ">", cursor.record_id],
                ],
                "id asc",
            )
            if rows:
                last = max(int(r["id"]) for r in rows)
                if not await self._commit(feed, cursor, rows, start, last):
                    return 0, False
                if len(rows) >= self.page_size:
                    return len(rows), True
                seen = len(rows)
                cursor = Cursor(start, last, cursor.version + 1)
            after = [["write_date", ">=", _odoo(start + SECOND)]]
        rows = await self._read(feed, after, "write_date asc, id asc")
        settled = [r for r in rows if _second(r) < horizon]
        full = len(rows) >= self.page_size
        if len(settled) < len(rows):
            # ordered by write_date: everything after the first fresh record is fresh too
            self.fresh_pending, full, rows = True, False, settled
        if not rows:
            return seen, False
        seconds = sorted({_second(r) for r in rows})
        if full:
            # the last second of a full page may be cut short: page it by id next round
            rows = [r for r in rows if _second(r) < seconds[-1]]
            if not rows:
                await self._commit(feed, cursor, [], seconds[-1], 0)
                return seen, True
        last_second = max(_second(r) for r in rows)
        last_id = max(int(r["id"]) for r in rows if _second(r) == last_second)
        if not await self._commit(feed, cursor, rows, last_second, last_id):
            return seen, False
        return seen + len(rows), full

    async def _commit(
        self,
        feed: Feed,
        cursor: Cursor,
        rows: list[dict[str, Any]],
        write_date: datetime,
        record_id: int,
    ) -> bool:
        """Commit one page and advance the cursor; false if another poller moved it first."""
        captured = await feed.collect(self.odoo, rows) if rows else None
        await self._ensure_row(feed.name)
        async with self.engine.begin() as connection:
            moved = await connection.execute(
                update(odoo_cursors)
                .where(odoo_cursors.c.feed == feed.name, odoo_cursors.c.version == cursor.version)
                .values(
                    write_date=write_date,
                    record_id=record_id,
                    version=cursor.version + 1,
                    updated_at=utcnow(),
                )
            )
            if moved.rowcount != 1:
                # another poller advanced this feed first; its commit already holds these events
                await connection.rollback()
                return False
            if captured is not None:
                if captured.writes:
                    revision = await _next_revision(connection)
                    for write in captured.writes:
                        await write(connection, revision)
                await enqueue(connection, captured.events)
        return True

    async def _ensure_row(self, feed: str) -> None:
        async with self.engine.begin() as connection:
            exists = (
                await connection.execute(
                    select(odoo_cursors.c.feed).where(odoo_cursors.c.feed == feed)
                )
            ).first()
            if exists:
                return
            try:
                async with connection.begin_nested():
                    await connection.execute(
                        insert(odoo_cursors).values(
                            feed=feed, write_date=None, record_id=0, version=0, updated_at=utcnow()
                        )
                    )
            except IntegrityError:
                pass  # a concurrent poller created it


async def _next_revision(connection: AsyncConnection) -> int:
    # The read-model revision clock belongs to the store-sync part; every writer of
    # products, prices and stock_positions must take its revision there.
    from storelink.sync.revisions import next_revision

    return await next_revision(connection)
