"""Attempt log, dead letters and replays (which keep the webhook-id)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncEngine

from storelink.webhooks import (
    Dispatcher,
    EndpointSpec,
    EndpointStore,
    ManualClock,
    attempts,
    dead_letters,
    deliveries,
    fanout,
    prune,
    replay_delivery,
    replay_endpoint,
    replay_failed,
)
from tests.webhooks.conftest import price_event
from tests.webhooks.receiver import Receiver


async def test_dead_letters_are_visible_and_replay_keeps_the_webhook_id(
    engine: AsyncEngine,
    endpoints: EndpointStore,
    dispatcher: Dispatcher,
    receiver: Receiver,
    clock: ManualClock,
) -> None:
    healthy = {"now": False}
    receiver.answer = lambda path, index: (200, {}) if healthy["now"] else (500, {})
    endpoint, _ = await endpoints.add(EndpointSpec(url=receiver.url("/r")))
    before = clock.now()
    first, second = price_event(version=1), price_event(version=2)
    await fanout(engine, [first, second], clock=clock)
    for _ in range(3):  # schedule [0, 5, 300]: three attempts, then dead
        await dispatcher.run_once()
        clock.advance(300)

    dead = await dead_letters(engine, endpoint_id=endpoint.id)
    assert {d.event_id for d in dead} == {first.id, second.id}
    assert all(d.last_error == "HTTP 500" and d.attempts == 3 for d in dead)
    log = await attempts(engine, endpoint.id)
    assert len(log) == 6 and {a.status_code for a in log} == {500}
    assert all(a.response_excerpt == "nope" and a.latency_ms > 0 for a in log)

    healthy["now"] = True
    one = next(d for d in dead if d.event_id == first.id)
    assert await replay_delivery(engine, one.id, clock=clock) == 1
    assert await dispatcher.run_once() == 1
    assert receiver.hits[-1].webhook_id == first.id
    assert await replay_failed(engine, since=before, clock=clock) == 1
    assert await dispatcher.run_once() == 1
    assert receiver.hits[-1].webhook_id == second.id
    assert {d.status for d in await deliveries(engine)} == {"delivered"}

    # recovering everything since a time sends delivered ones again, ids unchanged
    assert await replay_endpoint(engine, endpoint.id, since=before, clock=clock) == 2
    assert await dispatcher.run_once() == 2
    assert sorted(h.webhook_id for h in receiver.hits[-2:]) == sorted([first.id, second.id])
    assert await replay_failed(engine, since=before, clock=clock) == 0

    # old history can be forgotten; nothing newer than the cut-off goes
    assert await prune(engine, before=before) == 0
    clock.advance(86_400)
    assert await prune(engine, before=clock.now()) == 2
    assert await deliveries(engine) == [] and await attempts(engine, endpoint.id) == []
