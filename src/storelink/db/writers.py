"""One SQLite writer at a time per engine, first come first served.

SQLite lets one connection write at a time; others wait in its busy handler,
which polls with growing sleeps and is not fair. Under a busy hub (dozens of
store agents uploading, the drain, webhook fan-out and delivery all writing)
a waiting writer can lose the race again and again until its busy timeout
runs out ("database is locked"), although every transaction is short.

So every SQLite engine made by :func:`storelink.db.create_engine` queues its
writers in the process: a connection takes an :class:`asyncio.Lock` just
before its first INSERT/UPDATE/DELETE of a transaction (where SQLite would
take its write lock) and gives it back when the transaction ends. Readers never
queue (WAL lets them read beside the writer). SQLite's own busy timeout still
covers writers in other processes. A writer that cannot get its turn within
the busy timeout fails as SQLite would, rather than waiting for ever (a task
holding one write transaction while starting another would otherwise never
finish).
"""

from __future__ import annotations

import asyncio
import sqlite3
import weakref
from typing import Any

from sqlalchemy import Engine, event
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.util import await_

#: ``Connection.info`` flag: this pooled connection holds the engine's writer turn
_HOLDS = "storelink_writer_turn"
_WRITES = ("INSERT", "UPDATE", "DELETE", "REPLACE")


def _is_write(statement: str) -> bool:
    return statement.lstrip()[:7].upper().startswith(_WRITES)


class WriterQueue:
    """The turn the writers of one engine take (see the module docstring)."""

    def __init__(self, timeout_s: float) -> None:
        self.timeout_s = timeout_s
        self._turn = asyncio.Lock()
        #: writers waiting for their turn now
        self.waiting = 0

    def take(
        self, conn: Any, _cursor: Any, statement: str, parameters: Any, _context: Any, _many: bool
    ) -> None:
        if conn.info.get(_HOLDS) or not _is_write(statement):
            return
        self.waiting += 1
        try:
            await_(asyncio.wait_for(self._turn.acquire(), self.timeout_s))
        except TimeoutError:
            raise OperationalError(
                statement,
                parameters,
                sqlite3.OperationalError(
                    f"database is locked: no writer turn within {self.timeout_s:g} s"
                ),
            ) from None
        finally:
            self.waiting -= 1
        conn.info[_HOLDS] = True

    def give_back(self, info: dict[str, Any]) -> None:
        if info.pop(_HOLDS, False):
            self._turn.release()


_installed: weakref.WeakKeyDictionary[Engine, WriterQueue] = weakref.WeakKeyDictionary()


def queue_writers(engine: AsyncEngine, *, timeout_s: float) -> WriterQueue:
    """Make ``engine``'s writers take turns (see the module docstring); the queue already
    installed on ``engine`` if there is one."""
    sync = engine.sync_engine
    if sync in _installed:
        return _installed[sync]
    queue = _installed[sync] = WriterQueue(timeout_s)
    event.listen(sync, "before_cursor_execute", queue.take)
    event.listen(sync, "commit", lambda conn: queue.give_back(conn.info))
    event.listen(sync, "rollback", lambda conn: queue.give_back(conn.info))
    # a connection returned (or dropped) mid-transaction is rolled back by the pool
    event.listen(sync.pool, "checkin", lambda _dbapi, record: queue.give_back(record.info))
    event.listen(sync.pool, "invalidate", lambda _dbapi, record, _exc: queue.give_back(record.info))
    return queue
