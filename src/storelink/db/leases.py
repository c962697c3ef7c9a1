"""Named leases with fencing tokens: how hub worker processes share work on one database.

A lease is one row of :data:`~storelink.db.tables.leases`: ``name`` is held by
``holder`` (a worker id, :func:`storelink.ops.identity.worker_id`) until
``expires_at``; ``token`` is its *fencing token*, which grows by one at every new
tenure::

    store = LeaseStore(engine)
    token = await store.acquire("drain:store:S001", "hub-a:4242:1f3c", ttl_s=10)
    if token is not None:
        ...                                    # do the work, renewing every ttl/3
        async with engine.begin() as connection:
            if await store.check(connection, "drain:store:S001", "hub-a:4242:1f3c", token):
                ...                            # this commit happens while the lease is held

What holds:

* **One tenure at a time.** :meth:`LeaseStore.acquire` succeeds only on a lease that is
  free, released or expired, in one conditional ``UPDATE`` (PostgreSQL re-checks it
  under the row lock; SQLite has one writer), so two workers racing for a lease cannot
  both win. It never re-enters: a holder extends its tenure with :meth:`~LeaseStore.renew`
  (same token), and re-acquiring after an expiry or a release is a new tenure (token + 1).
  So a token names one tenure even if two processes were wrongly given the same worker id.
* **Fenced commits.** :meth:`~LeaseStore.check` (and :meth:`~LeaseStore.held` for many)
  runs *inside the caller's transaction*: it locks the lease rows — ``SELECT … FOR
  UPDATE`` on PostgreSQL; on SQLite the database write lock, taken by a write that
  changes no row — then says whether each is still held by that holder, with that token,
  unexpired. A write committed in that transaction after a true check was made while the
  lease was held: a taker's ``acquire`` waits for the lock, so it comes after the commit
  and gets a larger token; a holder that lost the lease sees the new token and must roll
  back (or drop its writes).

What does not hold:

* A lease is a promise about this database, not about the world outside it. A holder
  paused past its expiry (a stop-the-world pause, SIGSTOP, an Odoo call slower than the
  TTL while renewals fail) may still be doing something when another worker takes over:
  an Odoo call already on the wire is not un-sent. Fencing makes the paused holder's
  guarded commits fail, so its work is redone by the new holder — which is harmless only
  because that work is idempotent (store + transaction uuid for the drain).
* Expiry is only as good as the clock that judges it. On PostgreSQL that is the
  database's clock (``clock_timestamp()``, read in the same transaction), one clock for
  every worker whatever its host's clock says; on SQLite (one host) the process clock.
  Tests inject ``clock`` to move time past a TTL without sleeping; every store sharing a
  lease must then share that clock.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import false, func, insert, select, tuple_, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from storelink.db.tables import leases
from storelink.errors import ValidationError

_L = leases


@dataclass(frozen=True, slots=True)
class LeaseState:
    """One lease as the table holds it."""

    name: str
    holder: str
    token: int
    expires_at: datetime


class LeaseStore:
    """Acquire, renew, release and check named leases on ``engine`` (see the module docstring).

    ``clock`` replaces the database clock (tests); ``None`` reads PostgreSQL's
    ``clock_timestamp()``, or the process clock on SQLite.
    """

    def __init__(self, engine: AsyncEngine, *, clock: Callable[[], datetime] | None = None) -> None:
        self.engine = engine
        self.clock = clock

    async def now(self, connection: AsyncConnection) -> datetime:
        """The time leases are judged by (see the module docstring)."""
        if self.clock is not None:
            return self.clock()
        if connection.dialect.name == "postgresql":
            value: datetime = (
                await connection.execute(select(func.clock_timestamp()))
            ).scalar_one()
            return value
        return datetime.now(UTC)

    async def acquire(self, name: str, holder: str, ttl_s: float) -> int | None:
        """Take ``name`` for ``ttl_s`` seconds if it is free, released or expired: the new
        token, or ``None`` while someone (this holder included) holds it."""
        until = _ttl(ttl_s)
        async with self.engine.begin() as connection:
            now = await self.now(connection)
            taken = await connection.execute(
                update(_L)
                .where(_L.c.name == name, _L.c.expires_at <= now)
                .values(
                    holder=holder, token=_L.c.token + 1, expires_at=now + until, acquired_at=now
                )
                .returning(_L.c.token)
            )
            token = taken.scalar_one_or_none()
            if token is not None:
                return int(token)
            if (await connection.execute(select(_L.c.name).where(_L.c.name == name))).first():
                return None
            try:
                async with connection.begin_nested():
                    await connection.execute(
                        insert(_L).values(
                            name=name,
                            holder=holder,
                            token=1,
                            expires_at=now + until,
                            acquired_at=now,
                        )
                    )
            except IntegrityError:
                return None  # another worker created it first
        return 1

    async def renew(self, name: str, holder: str, token: int, ttl_s: float) -> bool:
        """Extend the tenure ``token`` of ``name`` to ``ttl_s`` from now; false if it is not
        held with that token any more (expired, released or taken)."""
        return name in await self.renew_many(holder, {name: token}, ttl_s)

    async def renew_many(self, holder: str, tokens: Mapping[str, int], ttl_s: float) -> set[str]:
        """:meth:`renew` for many leases in one transaction; the names renewed."""
        until = _ttl(ttl_s)
        if not tokens:
            return set()
        async with self.engine.begin() as connection:
            await self._lock(connection, tokens)
            now = await self.now(connection)
            renewed = await connection.execute(
                update(_L)
                .where(
                    tuple_(_L.c.name, _L.c.token).in_(list(tokens.items())),
                    _L.c.holder == holder,
                    _L.c.expires_at > now,
                )
                .values(expires_at=now + until)
                .returning(_L.c.name)
            )
            return set(renewed.scalars())

    async def release(self, name: str, holder: str, token: int) -> bool:
        """Give ``name`` up at once (anyone may take it); false if it was not held any more."""
        async with self.engine.begin() as connection:
            now = await self.now(connection)
            released = await connection.execute(
                update(_L)
                .where(
                    _L.c.name == name,
                    _L.c.holder == holder,
                    _L.c.token == token,
                    _L.c.expires_at > now,
                )
                .values(expires_at=now)
            )
            return released.rowcount == 1

    async def check(self, connection: AsyncConnection, name: str, holder: str, token: int) -> bool:
        """Whether ``holder`` still holds ``name`` with ``token``, locking the lease until the
        caller's transaction ends; see :meth:`held`."""
        return name in await self.held(connection, holder, {name: token})

    async def held(
        self, connection: AsyncConnection, holder: str, tokens: Mapping[str, int]
    ) -> set[str]:
        """Of ``tokens`` (name -> token), the leases ``holder`` still holds with that token,
        unexpired. Runs in the caller's transaction and locks those leases until it ends, so
        what the caller commits after this is committed while they are held. On SQLite make
        it the transaction's first statement (an earlier read would pin an older snapshot,
        and the write lock could then not be taken)."""
        if not tokens:
            return set()
        return await self._holding(connection, holder, tokens, lock=True)

    async def still_held(self, holder: str, tokens: Mapping[str, int]) -> set[str]:
        """:meth:`held` read in a connection of its own, without locking: an early look before
        starting work (it narrows the window in which a lost lease goes unnoticed); only
        :meth:`held` inside the committing transaction is binding."""
        if not tokens:
            return set()
        async with self.engine.connect() as connection:
            return await self._holding(connection, holder, tokens, lock=False)

    async def live(self, prefix: str) -> list[LeaseState]:
        """The unexpired leases whose name starts with ``prefix``."""
        async with self.engine.connect() as connection:
            now = await self.now(connection)
            rows = await connection.execute(
                select(_L.c.name, _L.c.holder, _L.c.token, _L.c.expires_at)
                .where(_L.c.name.startswith(prefix, autoescape=True), _L.c.expires_at > now)
                .order_by(_L.c.name)
            )
            return [LeaseState(r.name, r.holder, int(r.token), r.expires_at) for r in rows]

    async def available(self, names: Iterable[str]) -> set[str]:
        """Of ``names``, those :meth:`acquire` could take now (free, released or expired)."""
        wanted = set(names)
        if not wanted:
            return set()
        async with self.engine.connect() as connection:
            now = await self.now(connection)
            taken = await connection.execute(
                select(_L.c.name).where(_L.c.name.in_(sorted(wanted)), _L.c.expires_at > now)
            )
            return wanted - set(taken.scalars())

    async def get(self, name: str) -> LeaseState | None:
        """The lease row of ``name`` as it is (expired or not), if there is one."""
        async with self.engine.connect() as connection:
            row = (
                await connection.execute(
                    select(_L.c.name, _L.c.holder, _L.c.token, _L.c.expires_at).where(
                        _L.c.name == name
                    )
                )
            ).one_or_none()
        return (
            None
            if row is None
            else LeaseState(row.name, row.holder, int(row.token), row.expires_at)
        )

    async def _holding(
        self, connection: AsyncConnection, holder: str, tokens: Mapping[str, int], *, lock: bool
    ) -> set[str]:
        rows = await (self._lock(connection, tokens) if lock else self._read(connection, tokens))
        now = await self.now(connection)
        return {
            row.name
            for row in rows
            if row.holder == holder and row.token == tokens[row.name] and row.expires_at > now
        }

    async def _lock(self, connection: AsyncConnection, names: Iterable[str]) -> list[LeaseState]:
        """Lock the leases ``names`` for the rest of the transaction and read them."""
        if connection.dialect.name != "postgresql":
            # SQLite locks the whole database, and only for a write: this UPDATE changes no
            # row but takes the write lock (and the engine's writer turn) before the leases
            # are read, so no acquire can commit between this read and the caller's commit
            await connection.execute(update(_L).where(false()).values(token=_L.c.token))
        return await self._read(connection, names, for_update=True)

    async def _read(
        self, connection: AsyncConnection, names: Iterable[str], *, for_update: bool = False
    ) -> list[LeaseState]:
        query = (
            select(_L.c.name, _L.c.holder, _L.c.token, _L.c.expires_at)
            .where(_L.c.name.in_(sorted(names)))
            .order_by(_L.c.name)
        )
        if for_update and connection.dialect.name == "postgresql":
            # always in name order, so two transactions locking overlapping sets cannot deadlock
            query = query.with_for_update()
        rows = await connection.execute(query)
        return [LeaseState(r.name, r.holder, int(r.token), r.expires_at) for r in rows]


def _ttl(ttl_s: float) -> timedelta:
    if ttl_s <= 0:
        raise ValidationError("a lease needs a positive ttl_s", field="ttl_s", ttl_s=ttl_s)
    return timedelta(seconds=ttl_s)
