"""What the hub answered this agent, counted by status, in the agent's own database.

:class:`HubResponses` counts every answer the agent's hub client got (``"200"``,
``"503"``, ``"429"`` …) and every call that got none (``"error"``: no connection,
a timeout). Counting costs no commit of its own: the counts wait in memory and
ride along in the agent database's next group commit
(:meth:`storelink.edge.database.LocalDatabase.add_rider`) — an upload or a delta
page follows nearly every call — and when no write comes within
:data:`FLUSH_AFTER_S`, an empty write carries them. So a SIGKILL loses at most the
counts of the last moment before it, never a committed one; a commit that fails
keeps its counts for the next.

:func:`hub_responses` reads the totals, whether the agent is running or not.
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING

from storelink.ops.logging import get_logger

if TYPE_CHECKING:
    from storelink.edge.database import LocalDatabase

#: a count waits at most this long for another write to carry it to disk
FLUSH_AFTER_S = 1.0
#: the key of a call that got no answer at all
NO_ANSWER = "error"

_UPSERT = (
    "INSERT INTO hub_responses (status, count) VALUES (?, ?) "
    "ON CONFLICT (status) DO UPDATE SET count = count + excluded.count"
)
_log = get_logger("storelink.edge")


class HubResponses:
    """Counts the hub's answers into ``database`` (see the module docstring)."""

    def __init__(self, database: LocalDatabase) -> None:
        self._database = database
        self._lock = threading.Lock()  # counted on the loop, written by the writer thread
        self._pending: Counter[str] = Counter()
        self._riding: Counter[str] = Counter()
        self._nudge: asyncio.TimerHandle | None = None
        self._flushing: set[asyncio.Task[None]] = set()
        database.add_rider(self)

    def saw(self, status: int) -> None:
        """The hub answered with HTTP ``status``."""
        self._count(str(status))

    def failed(self) -> None:
        """A call got no answer (connection refused or lost, timeout)."""
        self._count(NO_ANSWER)

    def _count(self, key: str) -> None:
        with self._lock:
            self._pending[key] += 1
        if self._nudge is None:
            self._nudge = asyncio.get_running_loop().call_later(FLUSH_AFTER_S, self._flush)

    def _flush(self) -> None:
        self._nudge = None
        with self._lock:
            if not self._pending:
                return  # another write carried them
        task = asyncio.ensure_future(self._write_nothing())
        self._flushing.add(task)
        task.add_done_callback(self._flushing.discard)

    async def _write_nothing(self) -> None:
        try:
            await self._database.write(lambda connection: None)  # the counts ride along
        except Exception as exc:  # kept in memory: the next commit tries again
            _log.warning("hub response counts not written", error=str(exc))

    # -- the rider, called by the writer thread inside each group commit --------------------

    def ride(self, connection: sqlite3.Connection) -> None:
        with self._lock:
            self._riding, self._pending = self._pending, Counter()
        connection.executemany(_UPSERT, self._riding.items())

    def settled(self, committed: bool) -> None:
        with self._lock:
            if not committed:
                self._pending.update(self._riding)
            self._riding = Counter()

    async def aclose(self) -> None:
        """Write what is still pending (a clean stop loses no count)."""
        if self._nudge is not None:
            self._nudge.cancel()
            self._nudge = None
        with self._lock:
            pending = bool(self._pending)
        if pending:
            await self._write_nothing()


def hub_responses(database: Path | sqlite3.Connection) -> dict[str, int]:
    """Every answer the agent got from the hub so far, by status (``"error"``: none), as
    committed in its database ``database`` (a path, or an open connection)."""
    if isinstance(database, Path):
        connection = sqlite3.connect(database)
        try:
            return hub_responses(connection)
        finally:
            connection.close()
    try:
        rows = database.execute("SELECT status, count FROM hub_responses ORDER BY status")
    except sqlite3.OperationalError as exc:
        if "no such table" in str(exc):
            return {}  # an agent database from before the counts
        raise
    return {str(status): int(count) for status, count in rows.fetchall()}
