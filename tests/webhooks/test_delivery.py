"""Outbound delivery against real loopback receivers, verified with ``standardwebhooks``."""

from __future__ import annotations

import json

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from storelink.bus.tables import outbox
from storelink.model import EventType
from storelink.webhooks import (
    Dispatcher,
    EndpointSpec,
    EndpointStore,
    ManualClock,
    attempts,
    deliveries,
    fanout,
)
from tests.webhooks.conftest import price_event
from tests.webhooks.receiver import Receiver


async def test_delivery_is_signed_and_verified_by_standardwebhooks(
    engine: AsyncEngine,
    endpoints: EndpointStore,
    dispatcher: Dispatcher,
    receiver: Receiver,
    clock: ManualClock,
) -> None:
    endpoint, secret = await endpoints.add(EndpointSpec(url=receiver.url("/a")))
    receiver.secrets["/a"] = [secret]
    event = price_event()

    assert await fanout(engine, event, clock=clock) == 1
    assert await dispatcher.run_once() == 1

    (hit,) = receiver.hits
    assert hit.verified == {secret: True}
    assert hit.webhook_id == event.id
    assert json.loads(hit.body) == json.loads(event.model_dump_json())
    assert hit.headers["content-type"] == "application/json"
    assert hit.headers["traceparent"].startswith("00-")

    (delivery,) = await deliveries(engine, endpoint_id=endpoint.id)
    assert delivery.status == "delivered"
    (attempt,) = await attempts(engine, endpoint.id)
    assert (attempt.outcome, attempt.status_code, attempt.response_excerpt) == (
        "delivered",
        200,
        "ok",
    )


async def test_rotated_secret_signs_with_old_and_new_during_overlap(
    engine: AsyncEngine,
    endpoints: EndpointStore,
    dispatcher: Dispatcher,
    receiver: Receiver,
    clock: ManualClock,
) -> None:
    endpoint, old = await endpoints.add(EndpointSpec(url=receiver.url("/r")))
    new = await endpoints.rotate_secret(endpoint.id, overlap_s=3600)
    assert new != old and new.startswith("whsec_")
    receiver.secrets["/r"] = [old, new]

    await fanout(engine, price_event(version=1), clock=clock)
    await dispatcher.run_once()
    assert receiver.hits[-1].verified == {old: True, new: True}

    clock.advance(3601)
    await fanout(engine, price_event(version=2), clock=clock)
    await dispatcher.run_once()
    assert receiver.hits[-1].verified == {old: False, new: True}


async def test_fanout_is_idempotent_and_filters_types_and_sources(
    engine: AsyncEngine, endpoints: EndpointStore, receiver: Receiver, clock: ManualClock
) -> None:
    prices, _ = await endpoints.add(
        EndpointSpec(url=receiver.url("/p"), event_types=("storelink.price.*",))
    )
    other_store, _ = await endpoints.add(
        EndpointSpec(url=receiver.url("/s"), sources=("/stores/S002",))
    )
    orders, _ = await endpoints.add(
        EndpointSpec(url=receiver.url("/o"), event_types=("storelink.order.*",))
    )
    event = price_event(store="S001")

    assert await fanout(engine, event, clock=clock) == 1
    assert await fanout(engine, event, clock=clock) == 0
    assert [d.endpoint_id for d in await deliveries(engine)] == [prices.id]
    assert await fanout(engine, price_event(store="S002"), clock=clock) == 2
    assert not await deliveries(engine, endpoint_id=orders.id)
    assert len(await deliveries(engine, endpoint_id=other_store.id)) == 1


async def test_disabled_endpoint_gets_no_new_deliveries_and_resumes_on_enable(
    engine: AsyncEngine,
    endpoints: EndpointStore,
    dispatcher: Dispatcher,
    receiver: Receiver,
    clock: ManualClock,
) -> None:
    endpoint, _ = await endpoints.add(EndpointSpec(url=receiver.url("/d")))
    await fanout(engine, price_event(version=1), clock=clock)
    await endpoints.disable(endpoint.id, "maintenance")
    assert await fanout(engine, price_event(version=2), clock=clock) == 0
    assert await dispatcher.run_once() == 0

    async with engine.connect() as connection:
        types = (await connection.execute(select(outbox.c.type))).scalars().all()
    assert types == [EventType.WEBHOOK_ENDPOINT_DISABLED]

    await endpoints.enable(endpoint.id)
    assert await dispatcher.run_once() == 1
    assert len(receiver.hits) == 1
    assert (await endpoints.get(endpoint.id)).enabled


async def test_concurrency_limit_caps_one_pass(
    engine: AsyncEngine,
    endpoints: EndpointStore,
    dispatcher: Dispatcher,
    receiver: Receiver,
    clock: ManualClock,
) -> None:
    await endpoints.add(EndpointSpec(url=receiver.url("/c"), max_concurrency=3))
    await fanout(engine, [price_event(version=v) for v in range(1, 11)], clock=clock)

    assert await dispatcher.run_once() == 3
    assert await dispatcher.run_once() == 3
    assert len(receiver.hits) == 6


async def test_delivery_continues_the_events_trace(
    engine: AsyncEngine,
    endpoints: EndpointStore,
    dispatcher: Dispatcher,
    receiver: Receiver,
    clock: ManualClock,
) -> None:
    await endpoints.add(EndpointSpec(url=receiver.url("/t")))
    trace_id = "4bf92f3577b34da6a3ce929d0e0e4736"
    event = price_event().model_copy(update={"traceparent": f"00-{trace_id}-00f067aa0ba902b7-01"})
    await fanout(engine, event, clock=clock)
    await dispatcher.run_once()
    assert receiver.hits[0].headers["traceparent"].split("-")[1] == trace_id
