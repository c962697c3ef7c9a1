"""Buckets in the hub's database (PostgreSQL, or SQLite), shared by every hub worker.

Each decision is one statement, an upsert that computes the refill from the row
it conflicts with and returns the outcome::

    INSERT INTO api_rate_limit_buckets (key, tokens, updated_s, granted)
    VALUES (:key, :burst - 1, :now, true)
    ON CONFLICT (key) DO UPDATE SET tokens = <refill of the old row, less one if ≥ 1>,
        updated_s = max(old updated_s, :now), granted = <refill ≥ 1>
    RETURNING tokens, granted

The database applies it under the row's lock (PostgreSQL) or the write lock
(SQLite), so two workers can never both spend the last token: there is no read
then write for another worker to slip between. Every ``SET`` expression sees the
old row, as the SQL standard says.

Cost: one write transaction per rate-limited request. On SQLite that takes the
writer turn, which is why ``auto`` keeps SQLite hubs on the memory backend. The
database's own limits apply: a pool or writer turn that is not had in time
raises, and the limiter decides in the process instead (see
:class:`~storelink.api.ratelimit.RateLimiter`).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Float, case, literal
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.sql.elements import ColumnElement

from storelink.api.ratelimit.backend import Decision, Rate, decision
from storelink.api.tables import api_rate_limit_buckets
from storelink.errors import StorageError

_buckets = api_rate_limit_buckets


def _larger(a: ColumnElement[Any], b: ColumnElement[Any]) -> ColumnElement[Any]:
    # CASE rather than GREATEST/max(): one spelling for PostgreSQL and SQLite
    return case((a > b, a), else_=b)


def _smaller(a: ColumnElement[Any], b: ColumnElement[Any]) -> ColumnElement[Any]:
    return case((a < b, a), else_=b)


class DatabaseBackend:
    name = "database"

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        dialect = engine.dialect.name
        if dialect not in ("postgresql", "sqlite"):
            raise StorageError(f"no rate-limit upsert for database {dialect!r}", dialect=dialect)
        self._insert = postgresql.insert if dialect == "postgresql" else sqlite.insert

    def _statement(self, key: str, rate: Rate, now: float) -> Any:
        at = literal(now, Float)
        burst = literal(float(rate.burst), Float)
        elapsed = _larger(at - _buckets.c.updated_s, literal(0.0, Float))
        refilled = _smaller(burst, _buckets.c.tokens + elapsed * literal(rate.per_s, Float))
        granted = refilled >= 1.0
        return (
            self._insert(_buckets)
            .values(key=key, tokens=float(rate.burst) - 1.0, updated_s=now, granted=True)
            .on_conflict_do_update(
                index_elements=[_buckets.c.key],
                set_={
                    "tokens": case((granted, refilled - 1.0), else_=refilled),
                    "updated_s": _larger(at, _buckets.c.updated_s),
                    "granted": granted,
                },
            )
            .returning(_buckets.c.tokens, _buckets.c.granted)
        )

    async def take(self, key: str, rate: Rate, now: float) -> Decision:
        try:
            async with self._engine.begin() as connection:
                row = (await connection.execute(self._statement(key, rate, now))).one()
        except (OperationalError, InterfaceError, PoolTimeoutError, OSError) as exc:
            # unreachable, locked past the busy timeout, or no pooled connection in time
            raise StorageError(
                "the rate-limit buckets in the database cannot be reached",
                backend=self.name,
                error=type(exc).__name__,
            ) from exc
        return decision(rate, bool(row.granted), float(row.tokens))

    async def aclose(self) -> None:
        """Nothing of its own: the engine belongs to the hub."""
