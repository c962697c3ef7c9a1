"""The read-model revision clock that store delta downloads page by.

A sequence or ``max(revision) + 1`` is not enough: two writers can take 10 and
11, the one with 11 commits first, a reader pages past 11 and never sees 10.
Here a writer takes its revision by *updating* the one ``sync_state`` row; the
row lock is held until the writer commits, so a second writer waits and
revisions commit in the order they were handed out (SQLite serialises writers
anyway). Every writer of ``products``, ``prices`` or ``stock_positions`` must
take its revision here, in the same transaction as the change::

    async with engine.begin() as connection:
        revision = await next_revision(connection)
        await connection.execute(update(stock_positions).values(..., revision=revision))
"""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from storelink.errors import StorageError
from storelink.sync.tables import sync_state


async def next_revision(connection: AsyncConnection) -> int:
    """Take the next revision inside the open transaction (locks the clock until commit)."""
    result = await connection.execute(
        update(sync_state)
        .where(sync_state.c.id == 1)
        .values(revision=sync_state.c.revision + 1)
        .returning(sync_state.c.revision)
    )
    revision = result.scalar_one_or_none()
    if revision is None:
        raise StorageError("sync_state has no clock row; run `storelink db upgrade`")
    return int(revision)


async def clock(connection: AsyncConnection) -> tuple[int, int]:
    """``(revision, horizon)``: the latest revision handed out and the oldest usable cursor."""
    row = (
        await connection.execute(
            select(sync_state.c.revision, sync_state.c.horizon).where(sync_state.c.id == 1)
        )
    ).one_or_none()
    if row is None:
        raise StorageError("sync_state has no clock row; run `storelink db upgrade`")
    return int(row.revision), int(row.horizon)


async def raise_horizon(connection: AsyncConnection, horizon: int) -> None:
    """Declare cursors older than ``horizon`` unusable (after pruning rows deltas relied on)."""
    await connection.execute(
        update(sync_state)
        .where(sync_state.c.id == 1, sync_state.c.horizon < horizon)
        .values(horizon=horizon)
    )
