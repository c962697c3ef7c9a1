"""Property: whatever interleaving of appends, crashes and redeliveries, every committed
event is handled, its effect applied once, and each key's events in commit order.

Runs the whole path (outbox -> relay -> embedded log -> consumer) on SQLite with a
controllable clock, so ack timeouts and retry delays pass without waiting.
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import cast

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from sqlalchemy import Column, Integer, MetaData, String, Table, insert, select
from sqlalchemy.ext.asyncio import AsyncEngine

from storelink.bus import Consumer, EventLog, Relay, RetryPolicy, current_connection, enqueue
from storelink.bus.backends.embedded import EmbeddedEventLog
from storelink.config.sections import BusSettings
from storelink.db import create_engine, upgrade
from storelink.model import Event
from tests.bus.events import stock_moved
from tests.bus.helpers import CrashAfterAppend, RelayCrash

KEYS = ("A", "B", "C")
ACK_WAIT_S = 30.0

effects_metadata = MetaData()
effects = Table(
    "property_effects",
    effects_metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("event_id", String(128), nullable=False),
    Column("partitionkey", String(32), nullable=False),
)


class Crash(BaseException):
    """The consumer process dies in the middle of a handler."""


class Rollback(Exception):
    pass


@dataclass
class World:
    directory: Path
    engine: AsyncEngine
    log: EmbeddedEventLog
    consumer: Consumer
    now: list[float]
    committed: list[Event] = field(default_factory=list)
    #: handler calls made in the current step, and the call (0-based) that fails or crashes
    calls: int = 0
    fail_at: int | None = None
    crash_at: int | None = None

    def clock(self) -> float:
        return self.now[0]


async def handle_factory(world: World) -> Consumer:
    async def handle(event: Event) -> None:
        await current_connection().execute(
            insert(effects).values(event_id=event.id, partitionkey=event.partitionkey)
        )
        call, world.calls = world.calls, world.calls + 1
        if call == world.fail_at:
            raise ValueError("downstream refused")
        if call == world.crash_at:
            raise Crash

    return Consumer(
        cast(EventLog, world.log),
        world.engine,
        group="prop",
        handler=handle,
        retry=RetryPolicy(max_attempts=1000, backoff_s=1, max_backoff_s=10, jitter=0.5),
        ack_wait_s=ACK_WAIT_S,
        fetch_wait_s=0,
        batch=4,
        transactional=True,
    )


async def open_world(template: Path, directory: Path) -> World:
    shutil.copy(template, directory / "hub.db")
    engine = create_engine(f"sqlite+aiosqlite:///{(directory / 'hub.db').as_posix()}")
    now = [1_000_000.0]
    log = await EmbeddedEventLog.open(directory / "events.db", BusSettings(), clock=lambda: now[0])
    world = World(directory, engine, log, cast(Consumer, None), now)
    world.consumer = await handle_factory(world)
    return world


async def step(world: World, action: tuple[str, int, int, bool]) -> None:
    kind, a, b, flag = action
    world.calls, world.fail_at, world.crash_at = 0, None, None
    if kind == "produce":
        events = [stock_moved(KEYS[a], n + 1) for n in range(b)]
        try:
            async with world.engine.begin() as connection:
                await enqueue(connection, events)
                if not flag:
                    raise Rollback  # the producer crashed before committing
        except Rollback:
            return
        world.committed += events
    elif kind == "relay":
        await Relay(world.engine, cast(EventLog, world.log), batch=b).run_once()
    elif kind == "relay_crash":
        crashing = cast(EventLog, CrashAfterAppend(cast(EventLog, world.log)))
        with contextlib.suppress(RelayCrash):
            await Relay(world.engine, crashing, batch=b).run_once()
    elif kind == "consume":
        world.fail_at = a if flag else None
        await world.consumer.run_once()
    elif kind == "consumer_crash":
        world.crash_at = a
        with contextlib.suppress(Crash):
            await world.consumer.run_once()
        # A new process: a new log handle on the same file and a new consumer.
        await world.log.close()
        world.log = await EmbeddedEventLog.open(
            world.directory / "events.db", BusSettings(), clock=world.clock
        )
        world.consumer = await handle_factory(world)
    elif kind == "tick":
        world.now[0] += (1, 5, ACK_WAIT_S + 1)[a]


async def settle(world: World) -> None:
    """Let everything finish: relay the outbox, then consume with a healthy handler."""
    world.fail_at = world.crash_at = None
    relay = Relay(world.engine, cast(EventLog, world.log))
    while await relay.run_once():
        pass
    for _ in range(200):
        await world.consumer.run_once()
        stats = await world.log.stats()
        if all(group.lag == 0 for group in stats.groups) and stats.groups:
            return
        world.now[0] += ACK_WAIT_S + 1
    pytest.fail("the consumer did not catch up")


ACTIONS = st.one_of(
    st.tuples(st.just("produce"), st.integers(0, 2), st.integers(1, 3), st.booleans()),
    st.tuples(st.just("relay"), st.just(0), st.integers(1, 4), st.just(False)),
    st.tuples(st.just("relay_crash"), st.just(0), st.integers(1, 4), st.just(False)),
    st.tuples(st.just("consume"), st.integers(0, 3), st.just(0), st.booleans()),
    st.tuples(st.just("consumer_crash"), st.integers(0, 3), st.just(0), st.just(False)),
    st.tuples(st.just("tick"), st.integers(0, 2), st.just(0), st.just(False)),
)


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated hub database with the effects table, copied for every example."""
    path = tmp_path_factory.mktemp("template") / "hub.db"

    async def build() -> None:
        engine = create_engine(f"sqlite+aiosqlite:///{path.as_posix()}")
        await upgrade(engine)
        async with engine.begin() as connection:
            await connection.run_sync(effects_metadata.create_all)
        await engine.dispose()

    asyncio.run(build())
    return path


def test_committed_events_are_handled_once_in_key_order(
    template: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    @settings(
        max_examples=60,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow],
    )
    @given(actions=st.lists(ACTIONS, min_size=1, max_size=30))
    # A crash after two handled events of one batch: both come back, neither applies twice.
    @example(
        actions=[
            ("produce", 0, 1, True),
            ("produce", 1, 1, True),
            ("produce", 2, 1, True),
            ("relay", 0, 4, False),
            ("consumer_crash", 2, 0, False),
        ]
    )
    def check(actions: list[tuple[str, int, int, bool]]) -> None:
        asyncio.run(scenario(template, tmp_path_factory.mktemp("example"), actions))

    check()


async def scenario(
    template: Path, directory: Path, actions: list[tuple[str, int, int, bool]]
) -> None:
    world = await open_world(template, directory)
    try:
        for action in actions:
            await step(world, action)
        if world.committed:
            await settle(world)
        async with world.engine.connect() as connection:
            rows = (
                await connection.execute(
                    select(effects.c.event_id, effects.c.partitionkey).order_by(effects.c.id)
                )
            ).all()
        applied = [row.event_id for row in rows]
        assert sorted(applied) == sorted(e.id for e in world.committed)  # all, and once each
        for key in KEYS:
            expected = [e.id for e in world.committed if e.partitionkey == key]
            assert [row.event_id for row in rows if row.partitionkey == key] == expected
        assert await world.log.dead_letters() == []
    finally:
        await world.log.close()
        await world.engine.dispose()
