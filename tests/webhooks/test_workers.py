"""Several dispatchers sharing one queue, and the delivery metrics."""

from __future__ import annotations

import asyncio

from sqlalchemy.ext.asyncio import AsyncEngine

from storelink.config.sections import WebhookSettings
from storelink.ops.metrics import REGISTRY
from storelink.webhooks import (
    Dispatcher,
    EndpointSpec,
    EndpointStore,
    ManualClock,
    SecretBox,
    deliveries,
    fanout,
)
from tests.webhooks.conftest import price_event
from tests.webhooks.receiver import Receiver


async def test_two_workers_never_send_the_same_delivery_twice(
    engine: AsyncEngine,
    endpoints: EndpointStore,
    receiver: Receiver,
    clock: ManualClock,
    webhook_settings: WebhookSettings,
    secret_box: SecretBox,
) -> None:
    for path in ("/a", "/b", "/c"):
        await endpoints.add(EndpointSpec(url=receiver.url(path), max_concurrency=5))
    events = [price_event(version=v) for v in range(1, 21)]
    await fanout(engine, events, clock=clock)
    workers = [
        Dispatcher(engine, settings=webhook_settings, clock=clock, secret_box=secret_box)
        for _ in range(2)
    ]
    try:
        sent = 0
        while sent < 60:
            done = await asyncio.gather(*(worker.run_once() for worker in workers))
            assert sum(done) > 0
            sent += sum(done)
    finally:
        for worker in workers:
            await worker.aclose()

    assert sent == 60
    pairs = [(hit.path, hit.webhook_id) for hit in receiver.hits]
    assert len(pairs) == len(set(pairs)) == 60
    assert {d.status for d in await deliveries(engine, limit=1000)} == {"delivered"}


async def test_metrics_count_attempts_queue_depth_and_disabled_endpoints(
    engine: AsyncEngine,
    endpoints: EndpointStore,
    dispatcher: Dispatcher,
    receiver: Receiver,
    clock: ManualClock,
) -> None:
    receiver.answer = lambda path, index: (410, {}) if path == "/gone" else (200, {})
    ok, _ = await endpoints.add(EndpointSpec(url=receiver.url("/ok"), max_concurrency=1))
    gone, _ = await endpoints.add(EndpointSpec(url=receiver.url("/gone")))
    await fanout(engine, [price_event(version=v) for v in (1, 2, 3)], clock=clock)

    await dispatcher.run_once()
    assert REGISTRY.get_sample_value("storelink_webhook_queue_depth", {"endpoint": ok.id}) == 3
    await dispatcher.run_once()
    await dispatcher.refresh_metrics()

    def attempts(endpoint: str, outcome: str) -> float | None:
        return REGISTRY.get_sample_value(
            "storelink_webhook_attempts_total", {"endpoint": endpoint, "outcome": outcome}
        )

    assert attempts(ok.id, "delivered") == 2
    assert attempts(gone.id, "gone") == 3
    assert REGISTRY.get_sample_value("storelink_webhook_queue_depth", {"endpoint": ok.id}) == 2
    # a gauge of this database's state (set by refresh_metrics), not a running count
    assert REGISTRY.get_sample_value("storelink_webhook_endpoints_disabled") == 1
    assert (REGISTRY.get_sample_value("storelink_webhook_delivery_latency_seconds_count") or 0) >= 2
