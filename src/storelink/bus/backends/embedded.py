"""The embedded event log: an append-only log in its own SQLite file.

Tables (created on open; this file belongs to the log, not to the hub schema):

* ``events``: the log. ``position`` is an AUTOINCREMENT key, so positions are
  never reused after retention removes old rows; ``event_id`` is unique, which
  drops a republished event.
* ``groups``: one row per consumer group with its ``cursor`` (last position
  pulled into ``pending``) and its delivery rules.
* ``pending``: per group, the events pulled past the cursor and not yet acked.
  A new event is delivered as it is pulled when its key has nothing pending,
  else parked. A pending row is deliverable when its ``visible_at`` has passed
  *and* no earlier row of the same key is pending, which keeps order per key
  under redelivery while other keys flow. An ack deletes the row; an ack
  timeout or a nack just leaves ``visible_at`` to expire. ``envelope``
  overrides the logged one for retried (possibly edited) dead letters.
* ``dead_letters``: deliveries a group gave up on, with the last error.

All SQLite work runs on one worker thread with its own connection (WAL;
appends and dead letters ``synchronous=FULL``, delivery state ``NORMAL``);
writes use ``BEGIN IMMEDIATE`` so several processes can share the file.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager, suppress
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

from storelink.bus.backend import (
    AppendResult,
    DeadLetter,
    Delivery,
    GroupStats,
    LoggedEvent,
    LogStats,
    Subscription,
    matches,
)
from storelink.bus.metrics import (
    ACKED,
    APPENDED,
    CONSUMER_LAG,
    DEAD_LETTERED,
    DELIVERED,
    PUBLISH_SECONDS,
    REDELIVERED,
    count_types,
)
from storelink.config.sections import BusSettings
from storelink.errors import (
    ConsumerError,
    NotFoundError,
    PublishError,
    StorageError,
    ValidationError,
)
from storelink.model import Event

T = TypeVar("T")

SCHEMA = """
CREATE TABLE IF NOT EXISTS events (
    position INTEGER PRIMARY KEY AUTOINCREMENT,
    event_id TEXT NOT NULL UNIQUE,
    type TEXT NOT NULL,
    key TEXT NOT NULL,
    appended_at REAL NOT NULL,
    envelope TEXT NOT NULL
);
-- No index on key: only ``tail --key`` filters by it, and every index costs appends.
CREATE INDEX IF NOT EXISTS ix_events_appended_at ON events (appended_at);
CREATE TABLE IF NOT EXISTS groups (
    name TEXT PRIMARY KEY,
    types TEXT NOT NULL,
    ack_wait REAL NOT NULL,
    max_deliver INTEGER NOT NULL,
    cursor INTEGER NOT NULL DEFAULT 0,
    redeliveries INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS pending (
    grp TEXT NOT NULL,
    position INTEGER NOT NULL,
    key TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    visible_at REAL NOT NULL DEFAULT 0,
    last_error TEXT,
    envelope TEXT,
    PRIMARY KEY (grp, position)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS ix_pending_key ON pending (grp, key, position);
CREATE INDEX IF NOT EXISTS ix_pending_visible ON pending (grp, visible_at);
CREATE TABLE IF NOT EXISTS dead_letters (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    grp TEXT NOT NULL,
    position INTEGER NOT NULL,
    event_id TEXT NOT NULL,
    type TEXT NOT NULL,
    key TEXT NOT NULL,
    envelope TEXT NOT NULL,
    error TEXT NOT NULL,
    attempts INTEGER NOT NULL,
    dead_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS ix_dead_letters_grp ON dead_letters (grp, id);
"""

#: events scanned past a group's cursor per pull, as a multiple of the batch size
SCAN_FACTOR = 4
#: how often an idle fetch looks again (other processes, timers)
POLL_S = 0.05
#: how often append applies the retention settings
TRIM_EVERY_S = 60.0

_DELIVERABLE = """
SELECT p.position, p.key, p.attempts, p.last_error, p.envelope,
       e.event_id, e.type, e.appended_at, e.envelope
FROM pending AS p LEFT JOIN events AS e ON e.position = p.position
WHERE p.grp = ? AND p.visible_at <= ?
  AND NOT EXISTS (
    SELECT 1 FROM pending AS q WHERE q.grp = p.grp AND q.key = p.key AND q.position < p.position
  )
ORDER BY p.position LIMIT ?
"""


class EmbeddedEventLog:
    """The :class:`~storelink.bus.EventLog` kept in a SQLite file (see the module docstring)."""

    backend = "embedded"

    def __init__(
        self, path: Path, settings: BusSettings, *, clock: Callable[[], float] = time.time
    ) -> None:
        self.path = path
        self.settings = settings
        self.clock = clock
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="storelink-bus")
        self._db: sqlite3.Connection | None = None
        self._durable = True
        self._appended = asyncio.Event()
        self._last_trim = clock()

    @classmethod
    async def open(
        cls, path: Path, settings: BusSettings, *, clock: Callable[[], float] = time.time
    ) -> EmbeddedEventLog:
        log = cls(path, settings, clock=clock)
        await log._call(log._connect)
        return log

    # -- plumbing ---------------------------------------------------------------------

    def _connect(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        db.execute("PRAGMA journal_mode=WAL")
        # FULL: an append acknowledged to the relay survives power loss (promise 1).
        db.execute("PRAGMA synchronous=FULL")
        self._durable = True
        db.execute("PRAGMA busy_timeout=10000")
        # The unique index on random event ids wants its pages in memory.
        db.execute("PRAGMA cache_size=-32768")
        db.executescript(SCHEMA)
        self._db = db

    async def _call(self, fn: Callable[..., T], *args: Any) -> T:
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(self._executor, fn, *args)
        except sqlite3.Error as exc:
            raise StorageError(f"event log: {exc}", path=str(self.path)) from exc

    @contextmanager
    def _write(self, *, durable: bool = False) -> Iterator[sqlite3.Connection]:
        """A write transaction; ``durable`` ones are fsynced before they return.

        Appends and dead-letter changes are durable (promise 1). Delivery state
        (cursor, pending rows, acks) commits with ``synchronous=NORMAL``: WAL
        keeps it consistent, and what a power cut may take back is only redelivered.
        """
        db = self._require()
        if durable != self._durable:
            db.execute(f"PRAGMA synchronous={'FULL' if durable else 'NORMAL'}")
            self._durable = durable
        db.execute("BEGIN IMMEDIATE")
        try:
            yield db
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")

    def _require(self) -> sqlite3.Connection:
        if self._db is None:
            raise StorageError("event log is closed", path=str(self.path))
        return self._db

    def _group(self, db: sqlite3.Connection, group: str) -> tuple[Subscription, int]:
        row = db.execute(
            "SELECT types, ack_wait, max_deliver, cursor FROM groups WHERE name = ?", (group,)
        ).fetchone()
        if row is None:
            raise ConsumerError(f"no consumer group {group!r}; subscribe first", group=group)
        subscription = Subscription(group, tuple(json.loads(row[0])), row[1], row[2])
        return subscription, int(row[3])

    # -- append -----------------------------------------------------------------------

    async def append(self, events: Sequence[Event]) -> AppendResult:
        if not events:
            return AppendResult((), 0)
        started = time.perf_counter()
        rows = [
            (event.id, event.type, event.partitionkey, event.model_dump_json()) for event in events
        ]
        try:
            result = await self._call(self._append, rows)
        except StorageError as exc:
            raise PublishError(f"append failed: {exc}", path=str(self.path)) from exc
        PUBLISH_SECONDS.observe(time.perf_counter() - started)
        count_types(APPENDED, (event.type for event in events))
        self._appended.set()
        if self.clock() - self._last_trim > TRIM_EVERY_S:
            self._last_trim = self.clock()
            await self.trim(
                max_age_s=self.settings.retention_max_age_s or None,
                max_events=self.settings.retention_max_events or None,
            )
        return result

    def _append(self, rows: list[tuple[str, str, str, str]]) -> AppendResult:
        now = self.clock()
        with self._write(durable=True) as db:
            before = db.total_changes
            last = db.execute("SELECT seq FROM sqlite_sequence WHERE name = 'events'").fetchone()
            db.executemany(
                "INSERT OR IGNORE INTO events (event_id, type, key, appended_at, envelope)"
                " VALUES (?, ?, ?, ?, ?)",
                [(event_id, type_, key, now, envelope) for event_id, type_, key, envelope in rows],
            )
            inserted = db.total_changes - before
            if inserted == len(rows):
                # One writer holds the lock, so the new positions are consecutive.
                first = (last[0] if last else 0) + 1
                return AppendResult(tuple(range(first, first + inserted)), 0)
            positions = dict(
                db.execute(
                    "SELECT event_id, position FROM events WHERE event_id IN"
                    f" ({','.join('?' * len(rows))})",
                    [row[0] for row in rows],
                ).fetchall()
            )
        return AppendResult(tuple(positions.get(row[0], 0) for row in rows), len(rows) - inserted)

    # -- groups -----------------------------------------------------------------------

    async def subscribe(self, subscription: Subscription) -> None:
        await self._call(self._subscribe, subscription)

    def _subscribe(self, subscription: Subscription) -> None:
        with self._write() as db:
            db.execute(
                "INSERT INTO groups (name, types, ack_wait, max_deliver) VALUES (?, ?, ?, ?)"
                " ON CONFLICT (name) DO UPDATE SET types = excluded.types,"
                " ack_wait = excluded.ack_wait, max_deliver = excluded.max_deliver",
                (
                    subscription.group,
                    json.dumps(list(subscription.types)),
                    subscription.ack_wait_s,
                    subscription.max_deliver,
                ),
            )

    async def fetch(self, group: str, *, batch: int = 100, wait_s: float = 0.0) -> list[Delivery]:
        deadline = time.monotonic() + wait_s
        while True:
            self._appended.clear()
            deliveries = await self._call(self._fetch, group, batch)
            remaining = deadline - time.monotonic()
            if deliveries or remaining <= 0:
                return deliveries
            with suppress(TimeoutError):
                await asyncio.wait_for(self._appended.wait(), min(POLL_S, remaining))

    def _fetch(self, group: str, batch: int) -> list[Delivery]:
        now = self.clock()
        dead: list[tuple[Any, ...]] = []
        deliveries: list[Delivery] = []
        with self._write() as db:
            subscription, cursor = self._group(db, group)
            redelivered = self._due(db, subscription, batch, now, deliveries, dead)
            if len(deliveries) < batch:
                self._pull(db, subscription, cursor, batch - len(deliveries), now, deliveries)
            if redelivered:
                db.execute(
                    "UPDATE groups SET redeliveries = redeliveries + ? WHERE name = ?",
                    (redelivered, group),
                )
            self._bury(db, dead, now)
        count_types(DELIVERED, (d.type for d in deliveries), group)
        count_types(REDELIVERED, (d.type for d in deliveries if d.attempt > 1), group)
        return deliveries

    def _due(
        self,
        db: sqlite3.Connection,
        subscription: Subscription,
        batch: int,
        now: float,
        deliveries: list[Delivery],
        dead: list[tuple[Any, ...]],
    ) -> int:
        """Hand out pending rows that are due (timed out, nack delay over, or released)."""
        group = subscription.group
        updates: list[tuple[float, str, int]] = []
        redelivered = 0
        for row in db.execute(_DELIVERABLE, (group, now, batch)).fetchall():
            position, key, attempts, last_error, override, event_id, type_, appended, logged = row
            envelope = override or logged
            if envelope is None:  # removed by retention before it was delivered
                db.execute("DELETE FROM pending WHERE grp = ? AND position = ?", (group, position))
                continue
            if override is not None:
                parsed = json.loads(override)
                event_id, type_, appended = parsed["id"], parsed["type"], now
            if attempts >= subscription.max_deliver:
                error = last_error or f"not acked within {subscription.ack_wait_s}s"
                dead.append((group, position, event_id, type_, key, envelope, error, attempts))
                continue
            if attempts:
                redelivered += 1
            updates.append((now + subscription.ack_wait_s, group, position))
            deliveries.append(
                Delivery(
                    group, position, attempts + 1, event_id, type_, key, envelope, _at(appended)
                )
            )
        db.executemany(
            "UPDATE pending SET attempts = attempts + 1, visible_at = ?"
            " WHERE grp = ? AND position = ?",
            updates,
        )
        return redelivered

    def _pull(
        self,
        db: sqlite3.Connection,
        subscription: Subscription,
        cursor: int,
        room: int,
        now: float,
        deliveries: list[Delivery],
    ) -> None:
        """Take up to ``room`` wanted events past the cursor: deliver those whose key is
        free, park the others in ``pending`` behind the earlier event of their key."""
        group = subscription.group
        wanted: list[tuple[int, str, str, float, str, str]] = []
        last = cursor
        for _ in range(SCAN_FACTOR):
            rows = db.execute(
                "SELECT position, type, key, appended_at, envelope, event_id FROM events"
                " WHERE position > ? ORDER BY position LIMIT ?",
                (last, room * SCAN_FACTOR),
            ).fetchall()
            for row in rows:
                last = row[0]
                if subscription.wants(row[1]):
                    wanted.append(row)
                    if len(wanted) >= room:
                        break
            if not rows or len(wanted) >= room:
                break
        if last == cursor:
            return
        busy = self._busy_keys(db, group, {row[2] for row in wanted})
        due = now + subscription.ack_wait_s
        inserts: list[tuple[str, int, str, int, float]] = []
        for position, type_, key, appended, envelope, event_id in wanted:
            if key in busy:
                inserts.append((group, position, key, 0, 0.0))
                continue
            busy.add(key)
            inserts.append((group, position, key, 1, due))
            deliveries.append(
                Delivery(group, position, 1, event_id, type_, key, envelope, _at(appended))
            )
        db.executemany(
            "INSERT OR IGNORE INTO pending (grp, position, key, attempts, visible_at)"
            " VALUES (?, ?, ?, ?, ?)",
            inserts,
        )
        db.execute("UPDATE groups SET cursor = ? WHERE name = ?", (last, group))

    def _busy_keys(self, db: sqlite3.Connection, group: str, keys: set[str]) -> set[str]:
        """Those of ``keys`` with an event still pending for ``group``."""
        busy: set[str] = set()
        ordered = sorted(keys)
        for i in range(0, len(ordered), 500):
            chunk = ordered[i : i + 500]
            busy.update(
                key
                for (key,) in db.execute(
                    "SELECT DISTINCT key FROM pending WHERE grp = ? AND key IN"
                    f" ({','.join('?' * len(chunk))})",
                    (group, *chunk),
                )
            )
        return busy

    def _bury(self, db: sqlite3.Connection, dead: list[tuple[Any, ...]], now: float) -> None:
        """Move deliveries to the dead letters (rows as made by :func:`_dead_row`)."""
        if not dead:
            return
        db.executemany(
            "INSERT INTO dead_letters"
            " (grp, position, event_id, type, key, envelope, error, attempts, dead_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [(*row, now) for row in dead],
        )
        db.executemany(
            "DELETE FROM pending WHERE grp = ? AND position = ?", [(row[0], row[1]) for row in dead]
        )
        for row in dead:
            DEAD_LETTERED.labels(row[0], row[3]).inc()

    async def ack(self, deliveries: Sequence[Delivery]) -> None:
        if not deliveries:
            return
        await self._call(self._ack, [(d.group, d.position) for d in deliveries])
        for group in {d.group for d in deliveries}:
            count_types(ACKED, (d.type for d in deliveries if d.group == group), group)

    def _ack(self, keys: list[tuple[str, int]]) -> None:
        with self._write() as db:
            db.executemany("DELETE FROM pending WHERE grp = ? AND position = ?", keys)

    async def nack(
        self, delivery: Delivery, *, delay: float = 0.0, error: str | None = None
    ) -> None:
        await self._call(self._nack, delivery, delay, error)

    def _nack(self, delivery: Delivery, delay: float, error: str | None) -> None:
        now = self.clock()
        with self._write(durable=True) as db:
            subscription, _ = self._group(db, delivery.group)
            if delivery.attempt >= subscription.max_deliver:
                reason = error or f"nacked {delivery.attempt} times"
                self._bury(db, [_dead_row(delivery, reason)], now)
                return
            db.execute(
                "UPDATE pending SET visible_at = ?, last_error = COALESCE(?, last_error)"
                " WHERE grp = ? AND position = ?",
                (now + delay, error, delivery.group, delivery.position),
            )

    async def in_progress(self, delivery: Delivery) -> None:
        await self._call(self._in_progress, delivery)

    def _in_progress(self, delivery: Delivery) -> None:
        with self._write() as db:
            subscription, _ = self._group(db, delivery.group)
            db.execute(
                "UPDATE pending SET visible_at = ? WHERE grp = ? AND position = ?",
                (self.clock() + subscription.ack_wait_s, delivery.group, delivery.position),
            )

    async def dead_letter(self, delivery: Delivery, *, error: str) -> None:
        await self._call(self._dead_letter, delivery, error)

    def _dead_letter(self, delivery: Delivery, error: str) -> None:
        with self._write(durable=True) as db:
            self._bury(db, [_dead_row(delivery, error)], self.clock())

    async def replay(
        self, group: str, *, from_position: int | None = None, from_time: datetime | None = None
    ) -> None:
        if (from_position is None) == (from_time is None):
            raise ValidationError("give exactly one of from_position and from_time", field="from")
        await self._call(self._replay, group, from_position, from_time)

    def _replay(self, group: str, from_position: int | None, from_time: datetime | None) -> None:
        with self._write() as db:
            self._group(db, group)
            if from_position is None:
                assert from_time is not None
                row = db.execute(
                    "SELECT MIN(position) FROM events WHERE appended_at >= ?",
                    (from_time.timestamp(),),
                ).fetchone()
                last = db.execute(
                    "SELECT seq FROM sqlite_sequence WHERE name = 'events'"
                ).fetchone()
                start = row[0] if row[0] is not None else (last[0] if last else 0) + 1
            else:
                start = max(1, from_position)
            db.execute(
                "DELETE FROM pending WHERE grp = ? AND position >= ? AND envelope IS NULL",
                (group, start),
            )
            db.execute("UPDATE groups SET cursor = ? WHERE name = ?", (start - 1, group))

    # -- reading ----------------------------------------------------------------------

    async def read(
        self,
        *,
        from_position: int = 0,
        limit: int = 100,
        types: Sequence[str] = ("*",),
        partitionkey: str | None = None,
    ) -> list[LoggedEvent]:
        rows = await self._call(self._read, from_position, limit, tuple(types), partitionkey)
        return [
            LoggedEvent(
                position, datetime.fromtimestamp(appended, UTC), Event.model_validate_json(envelope)
            )
            for position, appended, envelope in rows
        ]

    def _read(
        self, from_position: int, limit: int, types: tuple[str, ...], key: str | None
    ) -> list[tuple[int, float, str]]:
        db = self._require()
        found: list[tuple[int, float, str]] = []
        position = from_position - 1
        while len(found) < limit:
            query = "SELECT position, type, appended_at, envelope FROM events WHERE position > ?"
            params: list[Any] = [position]
            if key is not None:
                query += " AND key = ?"
                params.append(key)
            rows = db.execute(query + " ORDER BY position LIMIT ?", [*params, limit]).fetchall()
            if not rows:
                break
            for position, type_, appended, envelope in rows:
                if matches(type_, types):
                    found.append((position, appended, envelope))
        return found[:limit]

    # -- dead letters -----------------------------------------------------------------

    async def dead_letters(self, group: str | None = None, *, limit: int = 100) -> list[DeadLetter]:
        query = f"SELECT {_DL_COLUMNS} FROM dead_letters"
        params: tuple[Any, ...] = ()
        if group is not None:
            query += " WHERE grp = ?"
            params = (group,)
        rows = await self._call(self._select, query + " ORDER BY id LIMIT ?", (*params, limit))
        return [_dead_letter(row) for row in rows]

    def _select(self, query: str, params: tuple[Any, ...]) -> list[tuple[Any, ...]]:
        return self._require().execute(query, params).fetchall()

    async def get_dead_letter(self, dead_letter_id: int) -> DeadLetter:
        rows = await self._call(
            self._select, f"SELECT {_DL_COLUMNS} FROM dead_letters WHERE id = ?", (dead_letter_id,)
        )
        if not rows:
            raise NotFoundError(f"no dead letter {dead_letter_id}", dead_letter=dead_letter_id)
        return _dead_letter(rows[0])

    async def edit_dead_letter(self, dead_letter_id: int, event: Event) -> DeadLetter:
        current = await self.get_dead_letter(dead_letter_id)
        if event.id != current.event_id:
            raise ValidationError(
                "an edited dead letter keeps its event id", field="id", expected=current.event_id
            )
        await self._call(self._edit, dead_letter_id, event)
        return await self.get_dead_letter(dead_letter_id)

    def _edit(self, dead_letter_id: int, event: Event) -> None:
        with self._write(durable=True) as db:
            db.execute(
                "UPDATE dead_letters SET envelope = ?, type = ?, key = ? WHERE id = ?",
                (event.model_dump_json(), event.type, event.partitionkey, dead_letter_id),
            )

    async def retry_dead_letter(self, dead_letter_id: int) -> None:
        letter = await self.get_dead_letter(dead_letter_id)
        await self._call(self._retry, letter)
        self._appended.set()

    def _retry(self, letter: DeadLetter) -> None:
        with self._write(durable=True) as db:
            db.execute(
                "INSERT OR REPLACE INTO pending (grp, position, key, envelope) VALUES (?, ?, ?, ?)",
                (letter.group, letter.position, letter.partitionkey, letter.envelope),
            )
            db.execute("DELETE FROM dead_letters WHERE id = ?", (letter.id,))

    async def drop_dead_letter(self, dead_letter_id: int) -> None:
        await self.get_dead_letter(dead_letter_id)
        await self._call(self._drop, dead_letter_id)

    def _drop(self, dead_letter_id: int) -> None:
        with self._write(durable=True) as db:
            db.execute("DELETE FROM dead_letters WHERE id = ?", (dead_letter_id,))

    # -- retention and stats ----------------------------------------------------------

    async def trim(self, *, max_age_s: float | None = None, max_events: int | None = None) -> int:
        return await self._call(self._trim, max_age_s, max_events)

    def _trim(self, max_age_s: float | None, max_events: int | None) -> int:
        # Events still pending for a group are kept: retention never loses an un-acked event.
        keep = "position NOT IN (SELECT position FROM pending WHERE envelope IS NULL)"
        removed = 0
        with self._write() as db:
            if max_age_s is not None:
                cursor = db.execute(
                    f"DELETE FROM events WHERE appended_at < ? AND {keep}",
                    (self.clock() - max_age_s,),
                )
                removed += cursor.rowcount
            if max_events is not None:
                cursor = db.execute(
                    "DELETE FROM events WHERE position <= (SELECT MAX(position) FROM events) - ?"
                    f" AND {keep}",
                    (max_events,),
                )
                removed += cursor.rowcount
        return removed

    async def stats(self) -> LogStats:
        stats = await self._call(self._stats)
        for group in stats.groups:
            CONSUMER_LAG.labels(group.group).set(group.lag)
        return stats

    def _stats(self) -> LogStats:
        db = self._require()
        now = self.clock()
        events = db.execute("SELECT COUNT(*) FROM events").fetchone()[0]
        last = db.execute("SELECT seq FROM sqlite_sequence WHERE name = 'events'").fetchone()
        last_position = last[0] if last else 0
        groups = []
        for name, types, cursor, redeliveries in db.execute(
            "SELECT name, types, cursor, redeliveries FROM groups ORDER BY name"
        ).fetchall():
            patterns = tuple(json.loads(types))
            unpulled = sum(
                1
                for (type_,) in db.execute(
                    "SELECT type FROM events WHERE position > ?", (cursor,)
                ).fetchall()
                if matches(type_, patterns)
            )
            pending, in_flight = db.execute(
                "SELECT COUNT(*), COALESCE(SUM(attempts > 0 AND visible_at > ?), 0)"
                " FROM pending WHERE grp = ?",
                (now, name),
            ).fetchone()
            dead = db.execute("SELECT COUNT(*) FROM dead_letters WHERE grp = ?", (name,)).fetchone()
            groups.append(
                GroupStats(name, unpulled + pending, int(in_flight), redeliveries, dead[0])
            )
        return LogStats(self.backend, events, last_position, tuple(groups))

    async def close(self) -> None:
        if self._db is not None:
            db, self._db = self._db, None
            await asyncio.get_running_loop().run_in_executor(self._executor, db.close)
        self._executor.shutdown(wait=False)


_DL_COLUMNS = "id, grp, position, event_id, type, key, envelope, error, attempts, dead_at"


def _at(timestamp: float) -> datetime:
    return datetime.fromtimestamp(timestamp, UTC)


def _dead_row(delivery: Delivery, error: str) -> tuple[Any, ...]:
    return (
        delivery.group,
        delivery.position,
        delivery.event_id,
        delivery.type,
        delivery.partitionkey,
        delivery.envelope,
        error,
        delivery.attempt,
    )


def _dead_letter(row: tuple[Any, ...]) -> DeadLetter:
    id_, group, position, event_id, type_, key, envelope, error, attempts, dead_at = row
    return DeadLetter(
        id=id_,
        group=group,
        position=position,
        event_id=event_id,
        type=type_,
        partitionkey=key,
        envelope=envelope,
        error=error,
        attempts=attempts,
        dead_at=datetime.fromtimestamp(dead_at, UTC),
    )
