"""Fast reads of the hub's read model for the lookup routes.

On PostgreSQL reads go through the async engine. On SQLite every aiosqlite call
is a hop to a worker thread (connect, execute, fetch, reset: about ten per
lookup), which costs more than the indexed lookup itself; so lookups run on a
plain ``sqlite3`` connection in the event loop's own thread. WAL mode means
such a reader never waits for the writer, and a point lookup takes microseconds,
far less than the thread hops it replaces.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import Row, create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.sql import Executable


def _read_only(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute("PRAGMA query_only=ON")
    cursor.close()


class Reader:
    """Runs read-only statements; ``all``/``first`` like a connection's results."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._inline: Engine | None = None
        url = engine.url
        if url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:"):
            self._inline = create_engine(
                url.set(drivername="sqlite+pysqlite"),
                connect_args={"check_same_thread": False},
                pool_size=1,
                max_overflow=0,
            )
            event.listen(self._inline, "connect", _read_only)

    async def all(
        self, statement: Executable, params: Mapping[str, Any] | None = None
    ) -> list[Row[Any]]:
        """Rows of ``statement``; ``params`` fill its ``bindparam`` placeholders (so a hot
        route builds its statement once instead of on every request)."""
        if self._inline is not None:
            with self._inline.connect() as connection:
                return list(connection.execute(statement, params).all())
        async with self._engine.connect() as connection:
            return list((await connection.execute(statement, params)).all())

    async def first(
        self, statement: Executable, params: Mapping[str, Any] | None = None
    ) -> Row[Any] | None:
        rows = await self.all(statement, params)
        return rows[0] if rows else None

    def close(self) -> None:
        if self._inline is not None:
            self._inline.dispose()
