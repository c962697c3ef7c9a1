"""The consumer helper: effects once by event id, retries with backoff, poison to the DLQ."""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections.abc import Sequence
from datetime import timedelta
from typing import cast

import pytest
from sqlalchemy import Column, Integer, MetaData, String, Table, func, insert, select
from sqlalchemy.ext.asyncio import AsyncEngine

from storelink.bus import (
    Consumer,
    Delivery,
    EventLog,
    RetryPolicy,
    Subscription,
    current_connection,
)
from storelink.config.sections import BusSettings
from storelink.errors import ConsumerError
from storelink.model import Event, utcnow
from storelink.ops.metrics import REGISTRY
from tests.bus.events import stock_moved

effects_metadata = MetaData()
effects = Table(
    "test_effects",
    effects_metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("event_id", String(128), nullable=False),
)


def acked(group: str) -> float:
    value = REGISTRY.get_sample_value(
        "storelink_bus_acked_total", {"group": group, "type": "storelink.stock.moved.v1"}
    )
    return value or 0.0


def dead_lettered(group: str) -> float:
    value = REGISTRY.get_sample_value(
        "storelink_bus_dead_lettered_total", {"group": group, "type": "storelink.stock.moved.v1"}
    )
    return value or 0.0


async def drain(consumer: Consumer, rounds: int = 20) -> None:
    """Run the consumer until a pass finds nothing (bounded)."""
    for _ in range(rounds):
        if not await consumer.run_once():
            return


async def test_handles_each_event_once_even_when_it_comes_back(
    engine: AsyncEngine, event_log: EventLog
) -> None:
    handled: list[str] = []

    async def handle(event: Event) -> None:
        handled.append(event.id)

    consumer = Consumer(event_log, engine, group="stock", handler=handle, fetch_wait_s=0.3)
    events = [stock_moved(f"K{i}") for i in range(3)]
    await event_log.append(events)
    await drain(consumer)

    acked_before = acked("stock")

    # A replay (or a relay duplicate) brings the same event ids back; the
    # consumer's processed-ids table drops them.
    await event_log.replay("stock", from_position=1)
    await drain(consumer)

    assert acked("stock") - acked_before == 3
    # once each; three keys are three partitions on NATS, so only per-key order is promised
    assert sorted(handled) == sorted(e.id for e in events)


async def test_failures_are_retried_in_key_order_then_dead_lettered(
    sqlite_engine: AsyncEngine, event_log: EventLog
) -> None:
    a1, a2, poison, b1 = stock_moved("A"), stock_moved("A"), stock_moved("P"), stock_moved("B")
    attempts: dict[str, int] = {}
    handled: list[str] = []

    async def handle(event: Event) -> None:
        attempts[event.id] = attempts.get(event.id, 0) + 1
        if event.id == poison.id or (event.id == a1.id and attempts[event.id] < 3):
            raise ValueError(f"cannot apply {event.partitionkey}")
        handled.append(event.id)

    retry = RetryPolicy(max_attempts=3, backoff_s=0.05, multiplier=2, jitter=0.1)
    consumer = Consumer(
        event_log, sqlite_engine, group="stock", handler=handle, retry=retry, fetch_wait_s=0.5
    )
    dead_before = dead_lettered("stock")
    await event_log.append([a1, a2, poison, b1])
    for _ in range(40):
        await consumer.run_once()
        if len(handled) == 3 and await event_log.dead_letters("stock"):
            break

    assert handled.index(a1.id) < handled.index(a2.id)
    assert sorted(handled) == sorted([a1.id, a2.id, b1.id])
    assert attempts[a1.id] == 3
    (letter,) = await event_log.dead_letters("stock")
    assert letter.event_id == poison.id
    assert dead_lettered("stock") - dead_before == 1
    assert letter.attempts == 3
    assert letter.error == "ValueError: cannot apply P"


async def test_transactional_handler_commits_with_the_dedup_mark(
    engine: AsyncEngine, event_log: EventLog
) -> None:
    async with engine.begin() as connection:
        await connection.run_sync(effects_metadata.create_all)
    fail_once = {"armed": True}

    async def handle(event: Event) -> None:
        await current_connection().execute(insert(effects).values(event_id=event.id))
        if fail_once["armed"]:
            fail_once["armed"] = False
            raise RuntimeError("crash after the write")

    consumer = Consumer(
        event_log,
        engine,
        group="stock",
        handler=handle,
        transactional=True,
        retry=RetryPolicy(backoff_s=0.01, jitter=0),
        fetch_wait_s=0.5,
    )
    event = stock_moved("K")
    await event_log.append([event])
    for _ in range(20):
        await consumer.run_once()
        async with engine.connect() as connection:
            if await connection.scalar(select(func.count()).select_from(effects)):
                break

    async with engine.connect() as connection:
        rows = (await connection.execute(select(effects.c.event_id))).scalars().all()
    assert rows == [event.id]  # the failed attempt's write was rolled back with it


async def test_handlers_of_different_keys_run_concurrently(
    sqlite_engine: AsyncEngine, event_log: EventLog
) -> None:
    all_started = asyncio.Event()
    running: set[str] = set()
    handled: list[str] = []

    async def handle(event: Event) -> None:
        running.add(event.partitionkey)
        if len(running) == 3:
            all_started.set()
        # Only returns once all three keys are in a handler at the same time.
        await asyncio.wait_for(all_started.wait(), 5)
        handled.append(event.id)

    consumer = Consumer(
        event_log, sqlite_engine, group="stock", handler=handle, concurrency=3, fetch_wait_s=1
    )
    events = [stock_moved(key) for key in ("A", "B", "C")]
    await event_log.append(events)
    await drain(consumer)

    assert sorted(handled) == sorted(e.id for e in events)
    assert await event_log.fetch("stock", batch=5, wait_s=0.2) == []


def test_current_connection_outside_a_handler_is_an_error() -> None:
    with pytest.raises(ConsumerError):
        current_connection()


async def test_processed_ids_are_pruned_after_retention(
    sqlite_engine: AsyncEngine, event_log: EventLog
) -> None:
    now = utcnow()
    clock = {"now": now}

    async def handle(event: Event) -> None:
        return None

    consumer = Consumer(
        event_log,
        sqlite_engine,
        group="stock",
        handler=handle,
        processed_retention_s=3600,
        clock=lambda: clock["now"],
        fetch_wait_s=0.3,
    )
    await event_log.append([stock_moved("K")])
    await drain(consumer)

    assert await consumer.prune_processed() == 0
    clock["now"] = now + timedelta(hours=2)
    assert await consumer.prune_processed() == 1


def test_retry_policy_backs_off_with_bounded_jitter() -> None:
    policy = RetryPolicy(
        backoff_s=1, multiplier=2, max_backoff_s=10, jitter=0.2, rng=random.Random(7)
    )
    delays = [policy.delay(attempt) for attempt in range(1, 7)]

    for attempt, delay in enumerate(delays, start=1):
        base = min(10, 2 ** (attempt - 1))
        assert base * 0.8 <= delay <= base * 1.2
    assert len(set(delays)) == len(delays)  # jittered, not a fixed ladder
    with pytest.raises(ValueError):
        RetryPolicy(max_attempts=0)


async def test_a_configured_consumer_follows_the_bus_settings(
    sqlite_engine: AsyncEngine, event_log: EventLog
) -> None:
    attempts: list[str] = []

    async def handle(event: Event) -> None:
        attempts.append(event.id)
        raise ValueError("never applies")

    settings = BusSettings(max_deliver=1, ack_wait_s=7.0, processed_retention_s=60.0)
    consumer = Consumer.configured(
        settings, event_log, sqlite_engine, group="tuned", handler=handle, fetch_wait_s=0.3
    )
    assert consumer.subscription.ack_wait_s == 7.0
    assert consumer.processed_retention_s == 60.0
    poison = stock_moved("T")
    await event_log.append([poison])
    for _ in range(20):
        await consumer.run_once()
        if await event_log.dead_letters("tuned"):
            break
    # max_deliver = 1: the first failure is final, with no retry in between
    (letter,) = await event_log.dead_letters("tuned")
    assert (letter.event_id, letter.attempts) == (poison.id, 1)
    assert attempts == [poison.id]


class OneBatchLog:
    """Hands out one fixed batch, then nothing (a NATS batch can hold a retried dead
    letter beside a live event of its key)."""

    backend = "fake"

    def __init__(self, events: list[Event]) -> None:
        self.batch = [
            Delivery("keys", i + 1, 1, e.id, e.type, e.partitionkey, e.model_dump_json(), utcnow())
            for i, e in enumerate(events)
        ]
        self.acked: list[str] = []

    async def subscribe(self, subscription: Subscription) -> None:
        return None

    async def fetch(self, group: str, *, batch: int = 100, wait_s: float = 0.0) -> list[Delivery]:
        handed, self.batch = self.batch, []
        return handed

    async def ack(self, deliveries: Sequence[Delivery]) -> None:
        self.acked += [d.event_id for d in deliveries]


async def test_deliveries_of_one_key_in_a_batch_are_handled_one_after_another(
    sqlite_engine: AsyncEngine,
) -> None:
    a1, b1, a2 = stock_moved("A"), stock_moved("B"), stock_moved("A")
    log = OneBatchLog([a1, b1, a2])
    started = {a1.id: asyncio.Event(), b1.id: asyncio.Event(), a2.id: asyncio.Event()}
    steps: list[str] = []

    async def handle(event: Event) -> None:
        name = {a1.id: "a1", b1.id: "b1", a2.id: "a2"}[event.id]
        steps.append(f"{name} starts")
        started[event.id].set()
        if event.id == a1.id:
            await asyncio.wait_for(started[b1.id].wait(), 5)  # B runs while A's first is out
            # A's second must not start while its first is in hand: give it every chance.
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(started[a2.id].wait(), 0.5)
        steps.append(f"{name} ends")

    consumer = Consumer(
        cast(EventLog, log), sqlite_engine, group="keys", handler=handle, concurrency=3
    )
    assert await consumer.run_once() == 3

    assert steps.index("a1 ends") < steps.index("a2 starts")
    assert steps.index("b1 starts") < steps.index("a1 ends")
    assert log.acked == [a1.id, b1.id, a2.id]
