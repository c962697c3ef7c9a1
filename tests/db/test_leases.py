"""The lease contract, on SQLite and on the real PostgreSQL: one tenure at a time, a fencing
token that grows with every tenure, and a check that holds off a takeover until the
checking transaction commits."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from storelink.db.leases import LeaseStore
from storelink.db.tables import leases
from storelink.errors import ValidationError
from storelink.ops import identity
from tests.sync.harness import wait_until

TTL = 10.0


@dataclass
class FakeClock:
    """The time every lease store of a test reads; moved by hand, never slept on."""

    now: datetime = field(default_factory=lambda: datetime(2026, 11, 28, 9, 0, tzinfo=UTC))

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def store(engine: AsyncEngine, clock: FakeClock) -> LeaseStore:
    return LeaseStore(engine, clock=clock)


async def test_one_holder_at_a_time_and_no_reentry(store: LeaseStore) -> None:
    assert await store.acquire("drain:store:S1", "a", TTL) == 1
    assert await store.acquire("drain:store:S1", "b", TTL) is None
    # never re-entered, not even by its holder: a token names one tenure
    assert await store.acquire("drain:store:S1", "a", TTL) is None
    state = await store.get("drain:store:S1")
    assert state is not None and (state.holder, state.token) == ("a", 1)


async def test_renewal_keeps_the_token_and_the_lease(store: LeaseStore, clock: FakeClock) -> None:
    token = await store.acquire("leader:relay", "a", TTL)
    assert token == 1
    for _ in range(5):  # 5 x 0.9 TTL: long past the first expiry, kept by renewing
        clock.advance(TTL * 0.9)
        assert await store.renew("leader:relay", "a", token, TTL)
        assert await store.acquire("leader:relay", "b", TTL) is None
    state = await store.get("leader:relay")
    assert state is not None and state.token == 1


async def test_expiry_lets_another_take_over_with_a_larger_token(
    store: LeaseStore, engine: AsyncEngine, clock: FakeClock
) -> None:
    old = await store.acquire("drain:store:S1", "a", TTL)
    assert old == 1
    clock.advance(TTL - 0.001)
    assert await store.acquire("drain:store:S1", "b", TTL) is None
    clock.advance(0.001)
    new = await store.acquire("drain:store:S1", "b", TTL)
    assert new == 2
    # the old holder can neither renew, nor release, nor pass a check with its token
    assert not await store.renew("drain:store:S1", "a", old, TTL)
    assert not await store.release("drain:store:S1", "a", old)
    async with engine.begin() as connection:
        assert not await store.check(connection, "drain:store:S1", "a", old)
        assert await store.check(connection, "drain:store:S1", "b", new)
    # the same holder coming back after its lease expired is a new tenure too
    clock.advance(TTL)
    assert not await store.renew("drain:store:S1", "b", new, TTL)
    assert await store.acquire("drain:store:S1", "b", TTL) == 3


async def test_check_refuses_an_expired_tenure_nobody_took(
    store: LeaseStore, engine: AsyncEngine, clock: FakeClock
) -> None:
    token = await store.acquire("drain:store:S1", "a", TTL)
    assert token is not None
    clock.advance(TTL)
    async with engine.begin() as connection:
        assert not await store.check(connection, "drain:store:S1", "a", token)


async def test_release_hands_over_at_once(store: LeaseStore) -> None:
    token = await store.acquire("leader:relay", "a", TTL)
    assert token == 1
    assert not await store.release("leader:relay", "a", token + 1)  # not its tenure
    assert await store.release("leader:relay", "a", token)
    assert not await store.release("leader:relay", "a", token)  # released already
    assert await store.acquire("leader:relay", "b", TTL) == 2


async def test_many_racing_for_one_lease_one_wins(store: LeaseStore, clock: FakeClock) -> None:
    for round_ in range(3):  # a fresh lease (insert race), then expired ones (update race)
        tokens = await asyncio.gather(
            *(store.acquire("leader:capture", f"w{n}", TTL) for n in range(6))
        )
        assert sorted(t for t in tokens if t is not None) == [round_ + 1]
        clock.advance(TTL)


async def test_a_check_holds_a_takeover_off_until_its_transaction_ends(
    store: LeaseStore, engine: AsyncEngine, clock: FakeClock
) -> None:
    """What a fenced commit rests on: after a true check, a taker waits for the commit."""
    token = await store.acquire("drain:store:S1", "a", TTL)
    assert token is not None
    async with engine.begin() as connection:
        assert await store.check(connection, "drain:store:S1", "a", token)
        clock.advance(TTL)  # expired now, but the checking transaction still runs
        takeover = asyncio.create_task(store.acquire("drain:store:S1", "b", TTL))
        done, _ = await asyncio.wait({takeover}, timeout=0.5)
        assert not done, "a takeover went through while the holder's checked commit was open"
    assert await asyncio.wait_for(takeover, 10) == token + 1


async def test_renewing_many_keeps_only_what_is_still_held(
    store: LeaseStore, clock: FakeClock
) -> None:
    a = await store.acquire("drain:store:S1", "w1", TTL)
    b = await store.acquire("drain:store:S2", "w1", TTL)
    assert a is not None and b is not None
    clock.advance(TTL)
    assert await store.acquire("drain:store:S2", "w2", TTL) == b + 1
    assert await store.renew_many("w1", {"drain:store:S1": a, "drain:store:S2": b}, TTL) == set()
    again = await store.acquire("drain:store:S1", "w1", TTL)
    assert again == a + 1
    clock.advance(TTL / 2)
    renewed = await store.renew_many("w1", {"drain:store:S1": again, "drain:store:S2": b}, TTL)
    assert renewed == {"drain:store:S1"}


async def test_live_and_available_read_the_clock(store: LeaseStore, clock: FakeClock) -> None:
    await store.acquire("drain:worker:w1", "w1", TTL)
    clock.advance(TTL / 2)
    await store.acquire("drain:worker:w2", "w2", TTL)
    await store.acquire("drain:worker_x", "w3", TTL)  # '_' is no wildcard in a prefix
    assert [s.holder for s in await store.live("drain:worker:")] == ["w1", "w2"]
    assert await store.available(["drain:worker:w1", "drain:worker:w9"]) == {"drain:worker:w9"}
    clock.advance(TTL / 2)
    assert [s.holder for s in await store.live("drain:worker:")] == ["w2"]
    assert await store.available(["drain:worker:w1", "drain:worker:w2"]) == {"drain:worker:w1"}


async def test_the_database_clock_judges_expiry_without_an_injected_clock(
    engine: AsyncEngine,
) -> None:
    """Tiny TTLs on the real clock (PostgreSQL's ``clock_timestamp()``), polled, not slept."""
    store = LeaseStore(engine)
    token = await store.acquire("leader:relay", "a", 0.2)
    assert token == 1
    assert await store.acquire("leader:relay", "b", 0.2) is None

    async def taken() -> bool:
        return await store.acquire("leader:relay", "b", 30) is not None

    await wait_until(taken, within=10)
    state = await store.get("leader:relay")
    assert state is not None and (state.holder, state.token) == ("b", 2)
    async with engine.connect() as connection:
        assert (await connection.execute(select(func.count()).select_from(leases))).scalar() == 1


async def test_a_lease_needs_a_positive_ttl(store: LeaseStore) -> None:
    with pytest.raises(ValidationError):
        await store.acquire("leader:relay", "a", 0)


@pytest.fixture
def no_worker_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.delenv(identity.ENV, raising=False)
    yield


@pytest.mark.usefixtures("no_worker_env")
def test_worker_id_is_stable_per_process_and_overridable(monkeypatch: pytest.MonkeyPatch) -> None:
    generated = identity.worker_id()
    assert generated == identity.worker_id()
    host, pid, suffix = generated.rsplit(":", 2)
    assert host and int(pid) > 0 and len(suffix) == 6
    assert identity.worker_id("hub-a") == "hub-a"  # hub.worker_id from the settings
    monkeypatch.setenv(identity.ENV, "sandbox-worker-2")
    assert identity.worker_id("hub-a") == "sandbox-worker-2"  # the environment wins
