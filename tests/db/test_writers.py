"""SQLite writers of one engine take turns in the process; readers never wait."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from sqlalchemy import Column, Integer, MetaData, Table, insert, select
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from storelink.db import create_engine
from storelink.db.engine import BUSY_TIMEOUT_MS
from storelink.db.writers import WriterQueue, queue_writers

metadata = MetaData()
rows = Table("rows", metadata, Column("id", Integer, primary_key=True), Column("n", Integer))


async def _engine(path: Path, timeout_s: float) -> tuple[AsyncEngine, WriterQueue]:
    engine = create_async_engine(f"sqlite+aiosqlite:///{path}")
    queue = queue_writers(engine, timeout_s=timeout_s)
    async with engine.begin() as connection:
        await connection.run_sync(metadata.create_all)
    return engine, queue


async def _until_waiting(queue: WriterQueue, count: int) -> None:
    async with asyncio.timeout(10):
        # another task's progress, polled: the queue has no event to wait on
        while queue.waiting < count:  # noqa: ASYNC110
            await asyncio.sleep(0.001)


async def _write(engine: AsyncEngine, n: int, done: list[int]) -> None:
    async with engine.begin() as connection:
        await connection.execute(insert(rows).values(n=n))
        done.append(n)


async def test_writers_wait_their_turn_in_order_and_readers_do_not_wait(tmp_path: Path) -> None:
    engine, queue = await _engine(tmp_path / "w.db", timeout_s=10)
    done: list[int] = []
    try:
        async with engine.connect() as holder:
            await holder.execute(insert(rows).values(n=0))  # holder has the turn, uncommitted
            waiting = []
            for n in (1, 2, 3):
                waiting.append(asyncio.create_task(_write(engine, n, done)))
                await _until_waiting(queue, n)  # queued before the next one starts
            # a reader is not held up by the writer queue (WAL: it reads the last commit)
            async with engine.connect() as reader:
                assert (await reader.execute(select(rows.c.n))).scalars().all() == []
            assert done == []  # every writer waits for the holder
            await holder.commit()
        await asyncio.gather(*waiting)
        assert done == [1, 2, 3]  # first come, first served
        async with engine.connect() as reader:
            assert sorted((await reader.execute(select(rows.c.n))).scalars()) == [0, 1, 2, 3]
    finally:
        await engine.dispose()


async def test_a_writer_that_cannot_get_its_turn_fails_like_a_locked_database(
    tmp_path: Path,
) -> None:
    engine, _ = await _engine(tmp_path / "t.db", timeout_s=0.2)
    try:
        async with engine.connect() as holder:
            await holder.execute(insert(rows).values(n=0))
            with pytest.raises(OperationalError, match=r"no writer turn within 0\.2 s"):
                await _write(engine, 1, [])
            await holder.rollback()
        # the turn came back with the rollback: the next writer goes straight through
        await _write(engine, 2, [])
    finally:
        await engine.dispose()


def test_every_sqlite_engine_made_by_storelink_queues_its_writers(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'e.db'}")
    # already installed by create_engine, with SQLite's busy timeout as its patience
    assert queue_writers(engine, timeout_s=1).timeout_s == BUSY_TIMEOUT_MS / 1000
