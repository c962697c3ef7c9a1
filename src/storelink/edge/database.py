"""The agent's SQLite file: WAL, ``synchronous=FULL``, one writer thread with group commit.

Reads run on the event loop's own connection: a point lookup in SQLite takes
microseconds, less than handing it to a thread, and WAL lets it read beside
the writer. Writes go to one writer thread that takes every write waiting,
runs each in its own savepoint and commits them together: one fsync makes a
whole group durable, and each caller is answered only after that commit.
Riders (:meth:`LocalDatabase.add_rider`) add their own small writes to every
group commit, at no fsync of their own.
"""

from __future__ import annotations

import asyncio
import contextlib
import queue
import sqlite3
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, TypeVar

from storelink.edge.schema import DDL, SCHEMA_VERSION
from storelink.errors import StorageError

T = TypeVar("T")
#: at most this many writes share one commit
GROUP_LIMIT = 128
#: how often the background thread folds the WAL back into the database file
CHECKPOINT_EVERY_S = 1.0

Work = Callable[[sqlite3.Connection], Any]


class Rider(Protocol):
    """Writes that go along with whatever the writer commits next (counters, say)."""

    def ride(self, connection: sqlite3.Connection) -> None:
        """Write into the group's transaction (called on the writer thread)."""

    def settled(self, committed: bool) -> None:
        """Whether what :meth:`ride` wrote was committed (called on the writer thread)."""


def connect(path: Path) -> sqlite3.Connection:
    """A connection with the pragmas every agent connection needs."""
    path.parent.mkdir(parents=True, exist_ok=True)
    connection = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    connection.row_factory = sqlite3.Row
    connection.execute("PRAGMA journal_mode=WAL")
    # FULL: every commit is fsynced before a write is acknowledged (promise 1)
    connection.execute("PRAGMA synchronous=FULL")
    connection.execute("PRAGMA busy_timeout=10000")
    return connection


@dataclass
class _Job:
    work: Work
    loop: asyncio.AbstractEventLoop
    future: asyncio.Future[Any]


class LocalDatabase:
    """Owns the file: ``read`` connection for the loop, ``write(fn)`` through the writer thread."""

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            self.read = connect(path)
            self.read.executescript(DDL)
            self.read.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
            self._writer = connect(path)
            # Checkpoints move the WAL into the main file and fsync it: left to SQLite they
            # run inside whichever commit crosses the threshold, and that till waits. A
            # background thread does them instead, without blocking the writer (PASSIVE).
            self._writer.execute("PRAGMA wal_autocheckpoint=0")
            self._checkpointer = connect(path)
        except sqlite3.Error as exc:
            raise StorageError(f"cannot open the agent database {path}: {exc}") from exc
        self._jobs: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._riders: list[Rider] = []
        self._closing = threading.Event()
        self._thread = threading.Thread(target=self._serve, name="agent-writer", daemon=True)
        self._thread.start()
        self._checkpoints = threading.Thread(
            target=self._checkpoint, name="agent-checkpoint", daemon=True
        )
        self._checkpoints.start()

    async def write(self, work: Callable[[sqlite3.Connection], T]) -> T:
        """Run ``work(connection)`` in a transaction; return once it is committed to disk.

        An exception raised by ``work`` rolls back only its own changes and is
        re-raised here.
        """
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()
        self._jobs.put(_Job(work, loop, future))
        return await future

    def add_rider(self, rider: Rider) -> None:
        """Let ``rider`` write in every group commit from now on (in a savepoint of its own:
        a rider that fails changes nothing else)."""
        self._riders.append(rider)

    def close(self) -> None:
        self._jobs.put(None)
        self._closing.set()
        self._thread.join(timeout=10)
        self._checkpoints.join(timeout=10)
        self.read.close()
        self._writer.close()
        self._checkpointer.close()

    def _checkpoint(self) -> None:
        while not self._closing.wait(CHECKPOINT_EVERY_S):
            with contextlib.suppress(sqlite3.Error):
                self._checkpointer.execute("PRAGMA wal_checkpoint(PASSIVE)")

    def _serve(self) -> None:
        while True:
            first = self._jobs.get()
            if first is None:
                return
            group = [first]
            with contextlib.suppress(queue.Empty):
                while len(group) < GROUP_LIMIT:
                    job = self._jobs.get_nowait()
                    if job is None:
                        self._jobs.put(None)
                        break
                    group.append(job)
            self._commit(group)

    def _commit(self, group: list[_Job]) -> None:
        results: list[tuple[_Job, bool, Any]] = []
        connection = self._writer
        riding: list[Rider] = []
        try:
            connection.execute("BEGIN IMMEDIATE")
            for job in group:
                connection.execute("SAVEPOINT job")
                try:
                    value = job.work(connection)
                except Exception as exc:
                    connection.execute("ROLLBACK TO job")
                    results.append((job, False, exc))
                else:
                    results.append((job, True, value))
                connection.execute("RELEASE job")
            self._ride(connection, riding)
            connection.execute("COMMIT")
            self._settle_riders(riding, committed=True)
        except sqlite3.Error as exc:
            self._settle_riders(riding, committed=False)
            with contextlib.suppress(sqlite3.Error):
                connection.execute("ROLLBACK")
            error = StorageError(f"agent database write failed: {exc}")
            error.__cause__ = exc
            results = [(job, False, error) for job in group]
        for job, ok, value in results:
            job.loop.call_soon_threadsafe(_settle, job.future, ok, value)

    def _ride(self, connection: sqlite3.Connection, riding: list[Rider]) -> None:
        """Let every rider write; those that did join ``riding``."""
        for rider in self._riders:
            connection.execute("SAVEPOINT rider")
            try:
                rider.ride(connection)
            except Exception:
                connection.execute("ROLLBACK TO rider")
                rider.settled(False)
            else:
                riding.append(rider)
            connection.execute("RELEASE rider")

    @staticmethod
    def _settle_riders(riders: list[Rider], *, committed: bool) -> None:
        for rider in riders:
            rider.settled(committed)


def _settle(future: asyncio.Future[Any], ok: bool, value: Any) -> None:
    if future.cancelled():
        return
    if ok:
        future.set_result(value)
    else:
        future.set_exception(value)
