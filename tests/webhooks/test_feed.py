"""Through the real bus: outbox -> relay -> event log -> webhooks consumer -> receiver."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from storelink.bus import EventLog, Relay, enqueue
from storelink.bus.backends.embedded import EmbeddedEventLog
from storelink.bus.backends.nats import NatsEventLog
from storelink.config.sections import BusSettings, WebhookSettings
from storelink.webhooks import (
    Dispatcher,
    EndpointSpec,
    EndpointStore,
    ManualClock,
    SecretBox,
    URLPolicy,
    deliveries,
)
from storelink.webhooks.feed import WebhookFeed
from tests.webhooks.conftest import price_event
from tests.webhooks.receiver import Receiver


@pytest.fixture(params=["embedded", pytest.param("nats", marks=pytest.mark.nats)])
async def event_log(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[EventLog]:
    log: EventLog
    if request.param == "embedded":
        log = await EmbeddedEventLog.open(tmp_path / "events.db", BusSettings())
        yield log
        await log.close()
        return
    settings = BusSettings(nats_prefix=f"t{uuid.uuid4().hex[:10]}")
    nats = await NatsEventLog.open(request.getfixturevalue("nats_url"), settings)
    yield nats
    await nats.delete_all()
    await nats.close()


async def test_events_from_the_bus_reach_the_partner_once(
    sqlite_engine: AsyncEngine,
    event_log: EventLog,
    receiver: Receiver,
    webhook_settings: WebhookSettings,
    clock: ManualClock,
    secret_box: SecretBox,
) -> None:
    engine = sqlite_engine
    store = EndpointStore(engine, clock=clock, secret_box=secret_box)
    store.policy = URLPolicy.from_settings(webhook_settings)
    endpoint, secret = await store.add(
        EndpointSpec(url=receiver.url("/bus"), event_types=("storelink.price.*",))
    )
    receiver.secrets["/bus"] = [secret]
    events = [price_event(version=v) for v in (1, 2, 3)]
    async with engine.begin() as connection:
        await enqueue(connection, events)

    dispatcher = Dispatcher(engine, settings=webhook_settings, clock=clock, secret_box=secret_box)
    feed = WebhookFeed(event_log, engine, dispatcher, clock=clock, fetch_wait_s=0.2)
    try:
        assert await Relay(engine, event_log).run_once() == 3
        handled = 0
        while handled < 3:
            handled += await feed.run_once()
        # the relay publishing again (a crash before marking) creates nothing new
        await event_log.append(events)
        await feed.run_once()
        assert await dispatcher.run_once() == 3
    finally:
        await dispatcher.aclose()

    assert sorted(hit.webhook_id for hit in receiver.hits) == sorted(e.id for e in events)
    assert all(hit.verified == {secret: True} for hit in receiver.hits)
    assert len(await deliveries(engine, endpoint_id=endpoint.id)) == 3
