"""Retry schedule, Retry-After, 410, auto-disable, throttling, ordering and restarts,
driven by a manual clock against real loopback receivers."""

from __future__ import annotations

import asyncio
import random
from datetime import timedelta
from email.utils import format_datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from storelink.bus.tables import outbox
from storelink.config.sections import WebhookSettings
from storelink.db import create_engine
from storelink.model import Event, EventType
from storelink.webhooks import (
    DeliveryRecord,
    Dispatcher,
    EndpointSpec,
    EndpointStore,
    HttpTransport,
    ManualClock,
    RetryPolicy,
    SecretBox,
    URLPolicy,
    deliveries,
    fanout,
)
from tests.webhooks.conftest import price_event
from tests.webhooks.receiver import Receiver


async def _only_delivery(engine: AsyncEngine, endpoint_id: str) -> DeliveryRecord:
    (delivery,) = await deliveries(engine, endpoint_id=endpoint_id)
    return delivery


async def _disabled_events(engine: AsyncEngine) -> list[Event]:
    async with engine.connect() as connection:
        rows = await connection.execute(
            select(outbox.c.envelope).where(outbox.c.type == EventType.WEBHOOK_ENDPOINT_DISABLED)
        )
        return [Event.model_validate_json(row.envelope) for row in rows]


async def test_retry_schedule_then_dead_letter(
    engine: AsyncEngine,
    endpoints: EndpointStore,
    dispatcher: Dispatcher,
    receiver: Receiver,
    clock: ManualClock,
) -> None:
    receiver.answer = lambda path, index: (500, {})
    endpoint, _ = await endpoints.add(EndpointSpec(url=receiver.url("/x")))
    event = price_event()
    await fanout(engine, event, clock=clock)
    start = clock.now()

    assert await dispatcher.run_once() == 1
    delivery = await _only_delivery(engine, endpoint.id)
    assert (delivery.status, delivery.next_attempt_at) == ("pending", start + timedelta(seconds=5))

    clock.advance(4.9)
    assert await dispatcher.run_once() == 0
    clock.advance(0.1)
    assert await dispatcher.run_once() == 1
    delivery = await _only_delivery(engine, endpoint.id)
    assert delivery.next_attempt_at == clock.now() + timedelta(seconds=300)

    clock.advance(300)
    assert await dispatcher.run_once() == 1
    delivery = await _only_delivery(engine, endpoint.id)
    assert (delivery.status, delivery.attempts, delivery.last_error) == ("dead", 3, "HTTP 500")
    clock.advance(86_400)
    assert await dispatcher.run_once() == 0
    assert [hit.webhook_id for hit in receiver.hits] == [event.id] * 3
    assert len({hit.headers["webhook-timestamp"] for hit in receiver.hits}) >= 1


async def test_jitter_spreads_delays_within_bounds() -> None:
    policy = RetryPolicy(schedule_s=(0, 100, 1000), jitter=0.1, rng=random.Random(1))
    delays = [policy.delay_after(1) for _ in range(200)]
    assert all(d is not None and 90 <= d <= 110 for d in delays)
    assert len(set(delays)) > 100
    assert policy.delay_after(3) is None
    assert policy.delay_after(1, retry_after=42) == 42


async def test_retry_after_is_honoured_on_503_and_429(
    engine: AsyncEngine,
    endpoints: EndpointStore,
    dispatcher: Dispatcher,
    receiver: Receiver,
    clock: ManualClock,
) -> None:
    later = clock.now() + timedelta(seconds=900)
    answers = {
        "/busy": (503, {"retry-after": "120"}),
        "/slow": (429, {"retry-after": format_datetime(later, usegmt=True)}),
    }
    receiver.answer = lambda path, index: answers[path]
    busy, _ = await endpoints.add(EndpointSpec(url=receiver.url("/busy")))
    slow, _ = await endpoints.add(EndpointSpec(url=receiver.url("/slow")))
    await fanout(engine, price_event(), clock=clock)

    assert await dispatcher.run_once() == 2
    now = clock.now()
    assert (await _only_delivery(engine, busy.id)).next_attempt_at == now + timedelta(seconds=120)
    assert (await _only_delivery(engine, slow.id)).next_attempt_at == later


async def test_410_gone_disables_the_endpoint_and_emits_an_event(
    engine: AsyncEngine,
    endpoints: EndpointStore,
    dispatcher: Dispatcher,
    receiver: Receiver,
    clock: ManualClock,
) -> None:
    receiver.answer = lambda path, index: (410, {})
    endpoint, _ = await endpoints.add(EndpointSpec(url=receiver.url("/gone")))
    await fanout(engine, [price_event(version=1), price_event(version=2)], clock=clock)

    assert await dispatcher.run_once() == 2
    endpoint = await endpoints.get(endpoint.id)
    assert not endpoint.enabled
    assert endpoint.disabled_reason == "receiver answered 410 Gone"
    (fact,) = await _disabled_events(engine)
    assert fact.data["endpoint"] == endpoint.id
    clock.advance(3600)
    assert await dispatcher.run_once() == 0
    assert {d.status for d in await deliveries(engine, endpoint_id=endpoint.id)} == {"pending"}


async def test_endpoint_failing_for_the_whole_period_is_disabled(
    engine: AsyncEngine, receiver: Receiver, clock: ManualClock, secret_box: SecretBox
) -> None:
    settings = WebhookSettings(
        allow_http=True,
        allowed_hosts=["127.0.0.1"],
        jitter=0,
        retry_schedule_s=[0, 1000, 1000, 1000, 1000],
        disable_after_s=2500,
    )
    healthy_after = {"/flaky": 1}
    receiver.answer = lambda path, index: (
        (200, {}) if index in (healthy_after.get(path, -1),) else (500, {})
    )
    store = EndpointStore(engine, clock=clock, secret_box=secret_box)
    store.policy = URLPolicy.from_settings(settings)
    dead, _ = await store.add(EndpointSpec(url=receiver.url("/dead")))
    flaky, _ = await store.add(EndpointSpec(url=receiver.url("/flaky")))
    dispatcher = Dispatcher(engine, settings=settings, clock=clock, secret_box=secret_box)
    try:
        await fanout(engine, price_event(version=1), clock=clock)
        await dispatcher.run_once()  # both fail at t=0
        clock.advance(1000)
        await dispatcher.run_once()  # dead fails again, flaky succeeds
        await fanout(engine, price_event(version=2), clock=clock)
        await dispatcher.run_once()
        clock.advance(1000)
        await dispatcher.run_once()
        assert (await store.get(dead.id)).enabled  # 2000 s of failures < 2500 s
        clock.advance(1000)
        await dispatcher.run_once()
    finally:
        await dispatcher.aclose()

    dead_now = await store.get(dead.id)
    assert not dead_now.enabled
    assert (
        dead_now.disabled_reason is not None and "every attempt failed" in dead_now.disabled_reason
    )
    assert (await store.get(flaky.id)).enabled  # its success reset the failing period
    assert [e.data["endpoint"] for e in await _disabled_events(engine)] == [dead.id]


async def test_throttling_to_msgs_per_second(
    engine: AsyncEngine,
    endpoints: EndpointStore,
    dispatcher: Dispatcher,
    receiver: Receiver,
    clock: ManualClock,
) -> None:
    await endpoints.add(EndpointSpec(url=receiver.url("/t"), rate_limit=2))
    await endpoints.add(EndpointSpec(url=receiver.url("/free")))
    await fanout(engine, [price_event(version=v) for v in range(1, 8)], clock=clock)

    assert await dispatcher.run_once() == 2 + 7
    assert await dispatcher.run_once() == 0
    clock.advance(0.5)
    assert await dispatcher.run_once() == 1
    clock.advance(10)  # the bucket holds at most one second's worth
    assert await dispatcher.run_once() == 2
    assert len(receiver.on("/t")) == 5
    assert len(receiver.on("/free")) == 7


async def test_per_key_ordering_waits_for_the_previous_delivery(
    engine: AsyncEngine,
    endpoints: EndpointStore,
    dispatcher: Dispatcher,
    receiver: Receiver,
    clock: ManualClock,
) -> None:
    first_a = price_event("A", 1)
    second_a = price_event("A", 2)
    only_b = price_event("B", 1)
    receiver.answer = lambda path, index: (503, {}) if index == 0 else (200, {})
    endpoint, _ = await endpoints.add(EndpointSpec(url=receiver.url("/o"), ordered=True))
    await fanout(engine, [first_a, second_a, only_b], clock=clock)

    assert await dispatcher.run_once() == 2  # A#1 (fails) and B#1; A#2 waits behind A#1
    assert [hit.webhook_id for hit in receiver.hits] == sorted(
        [first_a.id, only_b.id], key=[first_a.id, only_b.id].index
    ) or {hit.webhook_id for hit in receiver.hits} == {first_a.id, only_b.id}
    clock.advance(2)
    assert await dispatcher.run_once() == 0
    clock.advance(3)
    assert await dispatcher.run_once() == 1  # A#1 retried and delivered
    assert await dispatcher.run_once() == 1  # now A#2
    order = [hit.webhook_id for hit in receiver.hits if hit.webhook_id != only_b.id]
    assert order == [first_a.id, first_a.id, second_a.id]
    statuses = {d.event_id: d.status for d in await deliveries(engine, endpoint_id=endpoint.id)}
    assert set(statuses.values()) == {"delivered"}


async def test_unordered_endpoint_does_not_wait(
    engine: AsyncEngine,
    endpoints: EndpointStore,
    dispatcher: Dispatcher,
    receiver: Receiver,
    clock: ManualClock,
) -> None:
    receiver.answer = lambda path, index: (503, {}) if index == 0 else (200, {})
    await endpoints.add(EndpointSpec(url=receiver.url("/u"), ordered=False))
    await fanout(engine, [price_event("A", 1), price_event("A", 2)], clock=clock)
    assert await dispatcher.run_once() == 2


async def test_restart_mid_schedule_loses_nothing_and_sends_nothing_twice(
    database_url: str,
    webhook_settings: WebhookSettings,
    receiver: Receiver,
    clock: ManualClock,
    secret_box: SecretBox,
) -> None:
    from storelink.db import upgrade

    receiver.answer = lambda path, index: (
        (500, {}) if (path, index) == ("/retried", 0) else (200, {})
    )
    engine = create_engine(database_url)
    await upgrade(engine)
    store = EndpointStore(engine, clock=clock, secret_box=secret_box)
    store.policy = URLPolicy.from_settings(webhook_settings)
    await store.add(EndpointSpec(url=receiver.url("/retried")))
    await store.add(EndpointSpec(url=receiver.url("/inflight")))
    await fanout(engine, [price_event(version=v) for v in (1, 2)], clock=clock)
    first = Dispatcher(engine, settings=webhook_settings, clock=clock, secret_box=secret_box)
    assert await first.run_once() == 2 + 2  # /retried: one failed, one delivered; /inflight ok
    # a crash mid-flight: claimed and sent, but the hub dies before recording
    await fanout(engine, price_event(version=3), clock=clock)
    (claim_r, claim_i) = sorted(await first.claim(), key=lambda c: c.url)
    await asyncio.gather(first.attempt(claim_r), first.attempt(claim_i))
    await first.aclose()
    await engine.dispose()

    engine = create_engine(database_url)
    second = Dispatcher(
        engine,
        settings=webhook_settings,
        clock=clock,
        transport=HttpTransport(policy=URLPolicy.from_settings(webhook_settings)),
        secret_box=secret_box,
    )
    try:
        clock.advance(5)
        assert await second.run_once() == 1  # the scheduled retry only; leases still held
        clock.advance(webhook_settings.timeout_s + 30)
        assert await second.run_once() == 2  # the crashed in-flight attempts, same ids
        clock.advance(86_400)
        assert await second.run_once() == 0
        statuses = [d.status for d in await deliveries(engine)]
    finally:
        await second.aclose()
        await engine.dispose()

    assert statuses == ["delivered"] * len(statuses) and len(statuses) == 6
    by_id: dict[str, int] = {}
    for hit in receiver.hits:
        key = f"{hit.path} {hit.webhook_id}"
        by_id[key] = by_id.get(key, 0) + 1
    # every (endpoint, event) arrived; only honest retries repeat a webhook-id
    assert len(by_id) == 6
    assert sorted(by_id.values()) == [1, 1, 1, 2, 2, 2]
