"""The dispatcher's claiming and its lanes: limits hold while a backlog drains."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from storelink.config.sections import WebhookSettings
from storelink.webhooks import (
    Dispatcher,
    EndpointSpec,
    EndpointStore,
    ManualClock,
    deliveries,
    fanout,
    leasing,
)
from storelink.webhooks.tables import webhook_attempts
from storelink.webhooks.throttle import Throttle
from tests.webhooks.conftest import price_event
from tests.webhooks.receiver import Overlap, Receiver, listen


async def test_run_drains_a_backlog_within_each_endpoints_concurrency(
    engine: AsyncEngine, endpoints: EndpointStore, dispatcher: Dispatcher, clock: ManualClock
) -> None:
    receiver = Receiver()
    overlap = Overlap(receiver)
    limits = {"/two": 2, "/three": 3}
    events = [price_event(version=v) for v in range(1, 31)]
    async with listen(overlap) as port:
        receiver.port = port
        for path, limit in limits.items():
            await endpoints.add(EndpointSpec(url=receiver.url(path), max_concurrency=limit))
        await fanout(engine, events, clock=clock)
        stop = asyncio.Event()
        running = asyncio.create_task(dispatcher.run(stop))
        try:
            await receiver.wait_for(lambda: len(receiver.hits) == 60)
        finally:
            # stopping lets the lanes finish their attempts and records every outcome
            stop.set()
            await running

    assert {d.status for d in await deliveries(engine, limit=100)} == {"delivered"}
    for path, limit in limits.items():
        assert 1 < overlap.most[path] <= limit, (path, overlap.most[path])
        assert [hit.webhook_id for hit in receiver.on(path)] == [e.id for e in events]
    async with engine.connect() as connection:
        logged = await connection.scalar(select(func.count()).select_from(webhook_attempts))
    assert logged == 60


async def test_claims_are_chunked_and_oldest_first_per_endpoint(
    engine: AsyncEngine,
    endpoints: EndpointStore,
    dispatcher: Dispatcher,
    receiver: Receiver,
    clock: ManualClock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(leasing, "LEASE_CHUNK", 2)  # five endpoints: three statements
    paths = [f"/e{n}" for n in range(5)]
    for path in paths:
        await endpoints.add(EndpointSpec(url=receiver.url(path), max_concurrency=1))
    events = [price_event(version=v) for v in range(1, 4)]
    await fanout(engine, events, clock=clock)

    for expected in events:
        assert await dispatcher.run_once() == 5
        assert {receiver.on(path)[-1].webhook_id for path in paths} == {expected.id}
    assert await dispatcher.run_once() == 0


async def test_tokens_not_used_for_lack_of_due_work_are_kept(
    engine: AsyncEngine,
    endpoints: EndpointStore,
    dispatcher: Dispatcher,
    receiver: Receiver,
    clock: ManualClock,
) -> None:
    await endpoints.add(EndpointSpec(url=receiver.url("/t"), rate_limit=2))
    for _ in range(3):  # passes with nothing due must not spend the bucket
        assert await dispatcher.run_once() == 0
    await fanout(engine, [price_event(version=v) for v in (1, 2, 3)], clock=clock)
    assert await dispatcher.run_once() == 2
    assert await dispatcher.run_once() == 0


def test_throttle_gives_back_at_most_its_capacity() -> None:
    throttle = Throttle()
    now = ManualClock().now()
    assert throttle.allowance("ep", 2, now, 5) == 2
    throttle.give_back("ep", 1)
    assert throttle.allowance("ep", 2, now, 5) == 1
    throttle.give_back("ep", 10)
    assert throttle.allowance("ep", 2, now, 5) == 2


async def test_a_claim_whose_lease_ran_short_in_its_lane_is_left_to_fall_due(
    engine: AsyncEngine,
    endpoints: EndpointStore,
    dispatcher: Dispatcher,
    receiver: Receiver,
    clock: ManualClock,
    webhook_settings: WebhookSettings,
) -> None:
    # the first attempt hangs until the client gives up; the second queues behind it
    receiver.answer = lambda path, index: None if index == 0 else (200, {})
    await endpoints.add(EndpointSpec(url=receiver.url("/slow"), max_concurrency=1))
    first, second = price_event(version=1), price_event(version=2)
    await fanout(engine, [first, second], clock=clock)
    stop = asyncio.Event()
    running = asyncio.create_task(dispatcher.run(stop))
    try:
        await receiver.wait_for(lambda: len(receiver.hits) == 1)
        # while the first attempt hangs, so much of both leases goes by that the second
        # one no longer covers an attempt (lease: 2 timeouts + 30 s; needed: timeout + 15 s)
        clock.advance(webhook_settings.timeout_s + 30 - 10)
    finally:
        stop.set()
        await running  # the hanging attempt times out; the second claim is not sent

    assert [hit.webhook_id for hit in receiver.hits] == [first.id]
    status = {d.event_id: d.status for d in await deliveries(engine)}
    assert status[second.id] == "delivering"  # still leased: nobody else may send it yet
    clock.advance(60)  # the lease ends: the delivery falls due with the same webhook-id
    assert await dispatcher.run_once() == 1  # one at a time (max_concurrency 1)
    assert await dispatcher.run_once() == 1
    assert {hit.webhook_id for hit in receiver.hits[1:]} == {first.id, second.id}
