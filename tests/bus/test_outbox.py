"""The transactional outbox and the relay, on SQLite and PostgreSQL, into both log backends."""

from __future__ import annotations

from typing import cast

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from storelink.bus import Consumer, EventLog, Relay, enqueue
from storelink.bus.tables import outbox
from storelink.db import create_engine, upgrade
from storelink.model import Event
from tests.bus.events import stock_moved
from tests.bus.helpers import CrashAfterAppend, RelayCrash


class Rollback(Exception):
    pass


async def unpublished(engine: AsyncEngine) -> int:
    async with engine.connect() as connection:
        count = await connection.scalar(
            select(func.count()).select_from(outbox).where(outbox.c.published_at.is_(None))
        )
    return int(count or 0)


async def test_rolled_back_transaction_publishes_nothing(
    engine: AsyncEngine, event_log: EventLog
) -> None:
    with pytest.raises(Rollback):
        async with engine.begin() as connection:
            await enqueue(connection, [stock_moved("K")])
            raise Rollback

    assert await Relay(engine, event_log).run_once() == 0
    assert await event_log.read() == []


async def test_relay_publishes_committed_events_in_order(
    engine: AsyncEngine, event_log: EventLog
) -> None:
    first = [stock_moved("K", i + 1) for i in range(3)]
    second = [stock_moved("K", i + 10) for i in range(2)]
    for events in (first, second):
        async with engine.begin() as connection:
            await enqueue(connection, events)

    relay = Relay(engine, event_log, batch=4)
    assert await relay.run_once() == 4
    assert await relay.run_once() == 1
    assert await relay.run_once() == 0

    logged = [e.event for e in await event_log.read()]
    assert logged == [*first, *second]
    assert await unpublished(engine) == 0


@pytest.mark.postgres
async def test_a_later_commit_of_an_earlier_id_keeps_the_key_in_order(
    postgres_url: str, event_log: EventLog
) -> None:
    """PostgreSQL hands out ids at insert: id order and commit order can differ."""
    engine = create_engine(postgres_url)
    await upgrade(engine)
    try:
        early, late = stock_moved("K", 1), stock_moved("K", 2)
        relay = Relay(engine, event_log)
        async with engine.connect() as slow:
            await slow.begin()
            await enqueue(slow, [early])  # takes the smaller id, commits last
            async with engine.begin() as fast:
                await enqueue(fast, [late])
            # the later row is committed and visible, but an older writer is still open:
            # publishing it now would put it before ``early`` for good
            assert await relay.run_once() == 0
            await slow.commit()
        assert await relay.run_once() == 2
        assert [d.event.id for d in await event_log.read()] == [early.id, late.id]
    finally:
        await engine.dispose()


async def test_relay_killed_between_publish_and_mark_has_no_second_effect(
    sqlite_engine: AsyncEngine, event_log: EventLog
) -> None:
    events = [stock_moved("A"), stock_moved("B")]
    async with sqlite_engine.begin() as connection:
        await enqueue(connection, events)

    with pytest.raises(RelayCrash):
        await Relay(sqlite_engine, cast(EventLog, CrashAfterAppend(event_log))).run_once()
    assert await unpublished(sqlite_engine) == 2  # published, but not marked

    assert await Relay(sqlite_engine, event_log).run_once() == 2  # the duplicate publish
    assert await unpublished(sqlite_engine) == 0

    handled: list[Event] = []

    async def handle(event: Event) -> None:
        handled.append(event)

    consumer = Consumer(event_log, sqlite_engine, group="stock", handler=handle, fetch_wait_s=0.3)
    while await consumer.run_once():
        pass
    assert handled == events
