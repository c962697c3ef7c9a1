"""Dispatchers of several hub workers on one database: each delivery once, limits across all.

The end-to-end test runs two dispatchers, each on its own engine (as two processes
would be), against one PostgreSQL and a real HTTP receiver. The others pin one guard
each (see :mod:`storelink.webhooks.leasing` and :mod:`storelink.webhooks.sharing`).
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import Counter, defaultdict
from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy import func, select, text, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from storelink.config.sections import WebhookSettings
from storelink.db import create_engine, upgrade
from storelink.webhooks import (
    Claim,
    Dispatcher,
    EndpointSpec,
    EndpointStore,
    HttpTransport,
    ManualClock,
    SecretBox,
    SecretSet,
    Transport,
    URLPolicy,
    WebhookRequest,
    WebhookResponse,
    deliveries,
    fanout,
)
from storelink.webhooks.dispatcher import LEASE_ATTEMPTS, PREFETCH
from storelink.webhooks.sharing import lease_room, share_of
from storelink.webhooks.tables import webhook_deliveries
from tests.webhooks.conftest import price_event
from tests.webhooks.receiver import Overlap, Receiver, listen

postgres_only = pytest.mark.postgres


@pytest.fixture
async def pg_engines(postgres_url: str) -> AsyncIterator[list[AsyncEngine]]:
    """Two engines on one fresh PostgreSQL database: two workers' connection pools."""
    engines = [create_engine(postgres_url) for _ in range(2)]
    await upgrade(engines[0])
    try:
        yield engines
    finally:
        for engine in engines:
            await engine.dispose()


class CountingTransport:
    """The real transport, counting the attempts one dispatcher made."""

    def __init__(self, inner: Transport) -> None:
        self.inner = inner
        self.sent = 0

    async def post(self, request: WebhookRequest, *, timeout_s: float) -> WebhookResponse:
        self.sent += 1
        return await self.inner.post(request, timeout_s=timeout_s)

    async def aclose(self) -> None:
        await self.inner.aclose()


class PausingBox:
    """A secret box whose first secrets read (inside a pass's transaction, after its leases)
    waits until ``release`` is set: a pass held open mid-transaction."""

    def __init__(self, box: SecretBox) -> None:
        self.box = box
        self.entered = asyncio.Event()
        self.release = asyncio.Event()

    async def endpoint_secrets(self, connection: AsyncConnection, endpoint_id: str) -> SecretSet:
        if not self.entered.is_set():
            self.entered.set()
            await self.release.wait()
        return await self.box.endpoint_secrets(connection, endpoint_id)


def _dispatcher(engine: AsyncEngine, settings: WebhookSettings, box: Any, **kwargs: Any) -> Any:
    return Dispatcher(engine, settings=settings, secret_box=box, **kwargs)


@postgres_only
async def test_two_dispatchers_send_each_delivery_once_within_limits_and_key_order(
    pg_engines: list[AsyncEngine], webhook_settings: WebhookSettings, secret_box: SecretBox
) -> None:
    receiver = Receiver()
    overlap = Overlap(receiver, answer_after_s=0.02)
    policy = URLPolicy.from_settings(webhook_settings)
    events = [price_event(f"SKU-{k}", v) for v in range(1, 7) for k in range(4)]
    paths = ("/a", "/b", "/c")
    transports = [CountingTransport(HttpTransport(policy=policy)) for _ in pg_engines]
    workers = [
        _dispatcher(engine, webhook_settings, secret_box, transport=transport)
        for engine, transport in zip(pg_engines, transports, strict=True)
    ]
    async with listen(overlap) as port:
        receiver.port = port
        store = EndpointStore(pg_engines[0], policy=policy, secret_box=secret_box)
        for path in paths:
            await store.add(EndpointSpec(url=receiver.url(path), max_concurrency=2, ordered=True))
        await fanout(pg_engines[0], events)
        # both have been running a while: each has seen the other's heartbeat
        for worker in [*workers, workers[0]]:
            await worker.peers.refresh(force=True)
        assert all(len(worker.peers.members) == 2 for worker in workers)
        stop = asyncio.Event()
        running = [asyncio.create_task(worker.run(stop)) for worker in workers]
        try:
            await receiver.wait_for(lambda: len(receiver.hits) >= len(events) * 3, within_s=30)
            deadline = time.monotonic() + 10
            while {d.status for d in await deliveries(pg_engines[1], limit=500)} != {"delivered"}:
                assert time.monotonic() < deadline, "outcomes not recorded"
                await asyncio.sleep(0.05)  # polling the database for the recorded outcomes
        finally:
            stop.set()
            await asyncio.gather(*running)
            for worker in workers:
                await worker.aclose()

    sent = [(hit.path, hit.webhook_id) for hit in receiver.hits]
    assert len(sent) == len(set(sent)) == len(events) * len(paths)  # each attempted once
    assert all(transport.sent > 0 for transport in transports), [t.sent for t in transports]
    assert all(overlap.most[path] <= 2 for path in paths), overlap.most  # limit across both
    versions: dict[tuple[str, str], list[int]] = defaultdict(list)
    for hit in receiver.hits:
        body = json.loads(hit.body)
        versions[(hit.path, body["partitionkey"])].append(body["data"]["version"])
    assert all(seen == sorted(seen) for seen in versions.values()), versions


@postgres_only
async def test_a_pass_in_progress_keeps_its_endpoints_from_other_passes(
    pg_engines: list[AsyncEngine],
    webhook_settings: WebhookSettings,
    secret_box: SecretBox,
    clock: ManualClock,
) -> None:
    store = EndpointStore(
        pg_engines[0],
        policy=URLPolicy.from_settings(webhook_settings),
        clock=clock,
        secret_box=secret_box,
    )
    await store.add(EndpointSpec(url="http://127.0.0.1:9/hook", max_concurrency=2))
    await fanout(pg_engines[0], [price_event(version=v) for v in range(1, 11)], clock=clock)
    paused = PausingBox(secret_box)
    first = _dispatcher(pg_engines[0], webhook_settings, paused, clock=clock)
    second = _dispatcher(pg_engines[1], webhook_settings, secret_box, clock=clock)

    leasing = asyncio.create_task(first.claim())  # leases 2, then waits before committing
    async with asyncio.timeout(10):
        await paused.entered.wait()
    # its two leases are not committed: counted from what is, the second would lease up
    # to its prefetch beside them, and both would then send to the endpoint at once
    beside = await second.claim(prefetch=PREFETCH)
    paused.release.set()
    held = await leasing
    after = await second.claim(prefetch=PREFETCH)  # another holder: leases = attempts in flight

    assert len(held) == 2
    assert beside == [] and after == []


async def test_beside_another_holder_a_dispatcher_leases_only_within_the_limit(
    engine: AsyncEngine,
    endpoints: EndpointStore,
    receiver: Receiver,
    clock: ManualClock,
    webhook_settings: WebhookSettings,
    secret_box: SecretBox,
) -> None:
    await endpoints.add(EndpointSpec(url=receiver.url("/hook"), max_concurrency=2))
    await fanout(engine, [price_event(version=v) for v in range(1, 11)], clock=clock)
    first, second = (
        _dispatcher(engine, webhook_settings, secret_box, clock=clock) for _ in range(2)
    )
    try:
        prefetched = await first.claim(prefetch=PREFETCH)  # alone: its lanes keep 2 in flight
        assert len(prefetched) == 2 * PREFETCH
        await first.record([await first.attempt(claim) for claim in prefetched[:-1]])
        # the first still holds one lease (one attempt may be in flight there)
        joined = await second.claim(prefetch=PREFETCH)
        refill = await first.claim(prefetch=PREFETCH)
    finally:
        for worker in (first, second):
            await worker.aclose()

    assert len(joined) == 1  # 2 - 1: not its prefetch, or three attempts could overlap
    assert refill == []  # the first is not alone any more either


@postgres_only
async def test_a_delivery_being_settled_elsewhere_is_not_leased_again(
    pg_engines: list[AsyncEngine],
    webhook_settings: WebhookSettings,
    secret_box: SecretBox,
    clock: ManualClock,
) -> None:
    store = EndpointStore(
        pg_engines[0],
        policy=URLPolicy.from_settings(webhook_settings),
        clock=clock,
        secret_box=secret_box,
    )
    await store.add(EndpointSpec(url="http://127.0.0.1:9/hook", max_concurrency=1))
    await fanout(pg_engines[0], price_event(), clock=clock)
    late = _dispatcher(pg_engines[0], webhook_settings, secret_box, clock=clock)
    taker = _dispatcher(pg_engines[1], webhook_settings, secret_box, clock=clock)
    (claim,) = await late.claim()
    clock.advance(LEASE_ATTEMPTS * webhook_settings.timeout_s + 31)  # its lease ran out

    # the late worker's outcome is being written (it delivered after all) while the other
    # worker's pass finds the row due: its snapshot still shows the expired lease
    async with pg_engines[0].connect() as settling:
        await settling.execute(
            update(webhook_deliveries)
            .where(webhook_deliveries.c.id == claim.delivery_id)
            .values(status="delivered", lease_until=None)
        )
        taking = asyncio.create_task(taker.claim())
        await _until_done_or_waiting(taking, pg_engines[1])
        await settling.commit()
    taken = await taking

    assert taken == []  # skipped while locked; never re-leased once delivered
    (record,) = await deliveries(pg_engines[1])
    assert (record.status, record.attempts) == ("delivered", 1)


async def _until_done_or_waiting(task: asyncio.Task[list[Claim]], engine: AsyncEngine) -> None:
    """Until ``task`` finished or one of this database's sessions waits for a row lock."""
    waiting = (
        select(func.count())
        .select_from(text("pg_stat_activity"))
        .where(text("datname = current_database() AND wait_event_type = 'Lock'"))
    )
    deadline = time.monotonic() + 10
    while not task.done():
        async with engine.connect() as connection:
            if await connection.scalar(waiting):
                return
        assert time.monotonic() < deadline, "the pass neither finished nor waited"
        await asyncio.sleep(0.01)  # polling the server's view of its sessions


async def test_a_worker_whose_lease_was_taken_over_cannot_settle_the_delivery(
    engine: AsyncEngine,
    endpoints: EndpointStore,
    receiver: Receiver,
    clock: ManualClock,
    webhook_settings: WebhookSettings,
    secret_box: SecretBox,
) -> None:
    await endpoints.add(EndpointSpec(url=receiver.url("/hook"), max_concurrency=1))
    await fanout(engine, price_event(), clock=clock)
    late, taker = (_dispatcher(engine, webhook_settings, secret_box, clock=clock) for _ in "ab")
    try:
        (stale,) = await late.claim()
        clock.advance(LEASE_ATTEMPTS * webhook_settings.timeout_s + 31)  # paused past its lease
        (fresh,) = await taker.claim()
        # the paused worker wakes up, its attempt fails, and it writes the retry it plans
        receiver.answer = lambda path, index: (500, {})
        await late.record([await late.attempt(stale)])
        (during,) = await deliveries(engine)
        receiver.answer = lambda path, index: (200, {})
        await taker.record([await taker.attempt(fresh)])
    finally:
        for worker in (late, taker):
            await worker.aclose()

    assert (fresh.attempt, during.status, during.attempts) == (2, "delivering", 2)
    (record,) = await deliveries(engine)
    assert record.status == "delivered"


def test_shares_add_up_to_the_limit_and_spread_over_the_members() -> None:
    members = ["w1", "w2", "w3"]
    for limit in range(1, 8):
        for endpoint in ("ep_a", "ep_b", "ep_c"):
            parts = [share_of(endpoint, limit, members, m) for m in members]
            assert sum(parts) == limit and max(parts) - min(parts) <= 1
    # a limit of one goes to different members for different endpoints
    owners = Counter(
        next(m for m in members if share_of(f"ep_{n}", 1, members, m)) for n in range(30)
    )
    assert len(owners) == 3
    assert share_of("ep", 4, ["w1"], "w1") == 4 and share_of("ep", 4, members, "gone") == 4
    assert lease_room(concurrency=2, prefetch=4, share=2, alone=True, mine=0, busy=0) == 8
    assert lease_room(concurrency=2, prefetch=4, share=1, alone=False, mine=0, busy=0) == 1
