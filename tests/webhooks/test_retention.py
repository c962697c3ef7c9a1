"""Retention: delivered history and spent inbound webhook-ids go, in bounded batches;
queued and dead-lettered deliveries stay whatever their age."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta
from pathlib import Path
from typing import Any
from uuid import uuid4

import pytest
from sqlalchemy import event, func, select, update
from sqlalchemy.ext.asyncio import AsyncEngine
from standardwebhooks.webhooks import Webhook

from storelink.config import Settings
from storelink.config.sections import WebhookSettings
from storelink.errors import ReplayedWebhookError, StaleTimestampError
from storelink.hub import Hub
from storelink.ops.metrics import REGISTRY
from storelink.webhooks import (
    Dispatcher,
    EndpointSpec,
    EndpointStore,
    Intake,
    ManualClock,
    Pruned,
    Pruner,
    SecretBox,
    URLPolicy,
    fanout,
)
from storelink.webhooks.tables import inbound_seen, webhook_attempts, webhook_deliveries
from tests.services import free_port
from tests.webhooks.conftest import price_event
from tests.webhooks.receiver import Receiver

DAY = 86_400


def _pruned_metric(kind: str) -> float:
    return REGISTRY.get_sample_value("storelink_webhook_pruned_rows_total", {"kind": kind}) or 0.0


class DeleteCounter:
    """Counts DELETE statements per table as they reach the database."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.tables: Counter[str] = Counter()
        event.listen(engine.sync_engine, "before_cursor_execute", self._seen)

    def _seen(self, _conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        words = statement.split()
        if words[:2] == ["DELETE", "FROM"]:
            self.tables[words[2]] += 1


async def _statuses(engine: AsyncEngine) -> Counter[str]:
    async with engine.connect() as connection:
        rows = await connection.execute(select(webhook_deliveries.c.status))
        return Counter(rows.scalars())


async def _attempts_by_endpoint(engine: AsyncEngine) -> Counter[str]:
    async with engine.connect() as connection:
        rows = await connection.execute(select(webhook_attempts.c.endpoint_id))
        return Counter(rows.scalars())


async def test_delivered_history_goes_in_batches_and_queued_or_dead_deliveries_stay(
    engine: AsyncEngine,
    endpoints: EndpointStore,
    dispatcher: Dispatcher,
    receiver: Receiver,
    clock: ManualClock,
) -> None:
    receiver.answer = lambda path, index: (500, {}) if path == "/bad" else (200, {})
    ok, _ = await endpoints.add(EndpointSpec(url=receiver.url("/ok")))
    bad, _ = await endpoints.add(EndpointSpec(url=receiver.url("/bad")))
    delivered_at = clock.now()
    await fanout(engine, [price_event(version=v) for v in range(1, 6)], clock=clock)
    for _ in range(3):  # schedule [0, 5, 300]: /ok delivers at once, /bad dies after 3 tries
        await dispatcher.run_once()
        clock.advance(300)
    # one more event, left queued: pending for /bad, in flight (leased) for /ok
    await fanout(engine, price_event(version=9), clock=clock)
    async with engine.begin() as connection:
        await connection.execute(
            update(webhook_deliveries)
            .where(webhook_deliveries.c.endpoint_id == ok.id)
            .where(webhook_deliveries.c.status == "pending")
            .values(status="delivering", lease_until=clock.now() + timedelta(seconds=30))
        )
    assert await _statuses(engine) == {"delivered": 5, "dead": 5, "pending": 1, "delivering": 1}
    assert await _attempts_by_endpoint(engine) == {ok.id: 5, bad.id: 15}

    pruner = Pruner(engine, retention=timedelta(days=30), clock=clock, batch=2)
    before = {kind: _pruned_metric(kind) for kind in ("deliveries", "attempts")}

    clock.set(delivered_at + timedelta(days=30))  # exactly the retention: nothing is older
    assert await pruner.prune() == Pruned()
    clock.advance(1)
    deletes = DeleteCounter(engine)
    assert await pruner.prune() == Pruned(deliveries=5, attempts=5)
    # five rows, two per transaction: three deletes, never one big one
    assert deletes.tables["webhook_deliveries"] == 3

    clock.advance(365 * DAY)  # whatever their age, queued and dead deliveries stay
    assert await pruner.run_once() == 0
    assert await _statuses(engine) == {"dead": 5, "pending": 1, "delivering": 1}
    assert await _attempts_by_endpoint(engine) == {bad.id: 15}  # dead letters keep their log
    assert _pruned_metric("deliveries") - before["deliveries"] == 5
    assert _pruned_metric("attempts") - before["attempts"] == 5


async def test_inbound_ids_are_kept_while_a_replay_could_verify(
    engine: AsyncEngine, clock: ManualClock, secret_box: SecretBox
) -> None:
    intake = Intake(engine, secret_box=secret_box, clock=clock)
    secret = await intake.add_source("loyalty")
    accepted_at = clock.now()
    messages = []
    for _ in range(3):
        body = price_event().model_dump_json()
        msg_id = f"msg_{uuid4().hex}"
        headers = {
            "webhook-id": msg_id,
            "webhook-timestamp": str(int(clock.now().timestamp())),
            "webhook-signature": Webhook(secret).sign(msg_id, clock.now(), body),
        }
        await intake.accept("loyalty", headers, body.encode())
        messages.append((headers, body.encode()))
    pruner = Pruner(engine, retention=None, clock=clock, batch=2)
    before = _pruned_metric("inbound_ids")

    clock.advance(4 * 60)  # still within the 5-minute tolerance: the ids must stay
    assert await pruner.prune() == Pruned()
    with pytest.raises(ReplayedWebhookError):
        await intake.accept("loyalty", *messages[0])

    clock.set(accepted_at + timedelta(minutes=10))  # the longest a replay can verify
    assert await pruner.prune() == Pruned()
    clock.advance(1)
    assert await pruner.prune() == Pruned(inbound_ids=3)
    async with engine.connect() as connection:
        assert await connection.scalar(select(func.count()).select_from(inbound_seen)) == 0
    assert _pruned_metric("inbound_ids") - before == 3
    # forgetting the id let nothing through: the replay is stale now
    with pytest.raises(StaleTimestampError):
        await intake.accept("loyalty", *messages[0])


async def test_zero_retention_days_keeps_delivered_history(
    engine: AsyncEngine,
    endpoints: EndpointStore,
    dispatcher: Dispatcher,
    receiver: Receiver,
    clock: ManualClock,
) -> None:
    await endpoints.add(EndpointSpec(url=receiver.url("/ok")))
    await fanout(engine, price_event(), clock=clock)
    assert await dispatcher.run_once() == 1
    forever = Pruner.from_settings(engine, WebhookSettings(retention_days=0), clock=clock)
    assert forever.retention is None
    clock.advance(1000 * DAY)
    assert await forever.run_once() == 0
    assert await _statuses(engine) == {"delivered": 1}
    configured = Pruner.from_settings(engine, WebhookSettings(retention_days=7), clock=clock)
    assert await configured.prune() == Pruned(deliveries=1, attempts=1)


async def test_the_hub_runs_the_pruner_with_the_configured_settings(
    tmp_path: Path, sqlite_url: str
) -> None:
    settings = Settings(
        data_dir=tmp_path / "data",
        database_url=sqlite_url,
        api={"port": free_port()},
        webhooks={
            "allow_http": True,
            "allowed_hosts": ["127.0.0.1"],
            "retention_days": 2,
            "prune_interval_s": 600,
        },
    )
    async with Hub(settings) as hub:
        assert hub.engine is not None
        # the pruner runs in the elected leader only: look inside its Leadership wrapper
        workers = [getattr(w, "worker", w) for w in hub.workers]
        pruners = [w for w in workers if isinstance(w, Pruner)]
        assert [(p.retention, p.interval_s) for p in pruners] == [(timedelta(days=2), 600)]
        store = EndpointStore(
            hub.engine,
            policy=URLPolicy.from_settings(settings.webhooks),
            secret_box=SecretBox.from_settings(settings),
        )
        endpoint, _ = await store.add(EndpointSpec(url="http://127.0.0.1:9/hooks"))
        long_ago = ManualClock(endpoint.created_at - timedelta(days=3))
        await fanout(hub.engine, price_event(), clock=long_ago)
        async with hub.engine.begin() as connection:
            await connection.execute(
                update(webhook_deliveries).values(status="delivered", delivered_at=long_ago.now())
            )
        await hub.run_once()
        assert await _statuses(hub.engine) == Counter()


async def test_rotated_out_secrets_go_once_their_overlap_ends(
    engine: AsyncEngine, clock: ManualClock, secret_box: SecretBox, receiver: Receiver
) -> None:
    store = EndpointStore(engine, secret_box=secret_box, clock=clock)
    store.policy = URLPolicy(allow_http=True, allowed_hosts=frozenset({"127.0.0.1"}))
    endpoint, _ = await store.add(EndpointSpec(url=receiver.url("/rotated")))
    intake = Intake(engine, secret_box=secret_box, clock=clock)
    await intake.add_source("loyalty")
    new_endpoint_secret = await store.rotate_secret(endpoint.id, overlap_s=60)
    new_source_secret = await intake.rotate_secret("loyalty", overlap_s=60)
    pruner = Pruner(engine, retention=None, clock=clock)
    before = _pruned_metric("secrets")

    clock.advance(59)  # both old secrets still count
    assert await pruner.prune() == Pruned()
    clock.advance(1)
    assert await pruner.prune() == Pruned(secrets=2)
    assert _pruned_metric("secrets") - before == 2
    async with engine.connect() as connection:
        signing = await secret_box.endpoint_secrets(connection, endpoint.id)
        verifying = await secret_box.source_secrets(connection, "loyalty")
    assert signing.active(clock.now()) == [new_endpoint_secret]
    assert verifying is not None and verifying.active(clock.now()) == [new_source_secret]
