"""One elected leader per singleton worker, on SQLite and on the real PostgreSQL: only the
lease holder runs the wrapped worker, a leader that dies is replaced after the TTL, and a
leader whose lease was lost stops its worker."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from storelink.db.leases import LeaseStore
from storelink.ops.leadership import Leadership
from tests.db.test_leases import FakeClock
from tests.sync.harness import wait_until

TTL = 10.0  # on the fake clock: nothing expires unless the test moves it
RENEW = 0.05  # real seconds between renewals and election attempts


@dataclass
class Probe:
    """A singleton worker that notes when it runs and whether another copy ran meanwhile."""

    name: str
    running: set[str]
    overlaps: list[set[str]] = field(default_factory=list)
    passes: int = 0

    async def run_once(self) -> int:
        self.passes += 1
        return 1

    async def run(self, stop: asyncio.Event) -> None:
        self.running.add(self.name)
        if len(self.running) > 1:
            self.overlaps.append(set(self.running))
        try:
            await stop.wait()
        finally:
            self.running.discard(self.name)


class Scripted(LeaseStore):
    """A candidate's lease store: counts its election attempts; its renewals can be frozen
    (a paused process); ``killed`` makes it die instead of giving its lease up."""

    def __init__(self, engine: AsyncEngine, clock: FakeClock) -> None:
        super().__init__(engine, clock=clock)
        self.attempts = 0
        self.renewals = 0
        self.killed = False
        self.thawed = asyncio.Event()
        self.thawed.set()

    async def acquire(self, name: str, holder: str, ttl_s: float) -> int | None:
        self.attempts += 1
        return await super().acquire(name, holder, ttl_s)

    async def renew(self, name: str, holder: str, token: int, ttl_s: float) -> bool:
        await self.thawed.wait()
        self.renewals += 1
        return await super().renew(name, holder, token, ttl_s)

    async def release(self, name: str, holder: str, token: int) -> bool:
        if self.killed:
            return False
        return await super().release(name, holder, token)


@dataclass
class Candidate:
    leadership: Leadership
    probe: Probe
    store: Scripted
    task: asyncio.Task[None] | None = None


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
async def candidates(
    engine: AsyncEngine, clock: FakeClock
) -> AsyncIterator[tuple[Candidate, Candidate]]:
    running: set[str] = set()
    made = []
    for name in ("a", "b"):
        probe, store = Probe(name, running), Scripted(engine, clock)
        leadership = Leadership(probe, store, "relay", name, ttl_s=TTL, renew_s=RENEW)
        made.append(Candidate(leadership, probe, store))
    try:
        yield made[0], made[1]
    finally:
        for candidate in made:
            candidate.store.thawed.set()
            if candidate.task is not None:
                candidate.task.cancel()
                await asyncio.gather(candidate.task, return_exceptions=True)


def start(candidate: Candidate, stop: asyncio.Event) -> None:
    candidate.task = asyncio.create_task(candidate.leadership.run(stop))


async def test_only_the_leader_runs_and_a_dead_leader_is_replaced_after_the_ttl(
    candidates: tuple[Candidate, Candidate], clock: FakeClock
) -> None:
    a, b = candidates
    stop = asyncio.Event()
    start(a, stop)
    await wait_until(lambda: a.probe.running == {"a"})
    start(b, stop)
    for _ in range(5):  # well past the first TTL, a renewing all along
        clock.advance(TTL / 2)
        renewals, attempts = a.store.renewals, b.store.attempts
        # a renewed since the clock moved, then b stood for election (and lost)
        await wait_until(lambda: a.store.renewals > renewals)  # noqa: B023
        await wait_until(lambda: b.store.attempts > attempts + 1)  # noqa: B023
        assert a.probe.running == {"a"}, "the follower ran while the leader was alive"
    # a dies (SIGKILL: no clean release); its lease stays until the TTL runs out
    a.store.killed = True
    assert a.task is not None
    a.task.cancel()
    await asyncio.gather(a.task, return_exceptions=True)
    tries = b.store.attempts
    await wait_until(lambda: b.store.attempts >= tries + 2)
    assert not b.leadership.leading
    clock.advance(TTL)
    await wait_until(lambda: b.probe.running == {"b"}, within=5)
    assert a.probe.overlaps == b.probe.overlaps == []
    stop.set()


async def test_a_leader_that_lost_its_lease_stops_its_worker(
    candidates: tuple[Candidate, Candidate], clock: FakeClock
) -> None:
    a, b = candidates
    stop = asyncio.Event()
    start(a, stop)
    await wait_until(lambda: a.probe.running == {"a"})
    first = a.leadership.token
    # a is paused in a renewal; its lease runs out and b takes it
    a.store.thawed.clear()
    start(b, stop)
    clock.advance(TTL)
    await wait_until(lambda: b.leadership.leading)
    assert b.leadership.token is not None and first is not None
    assert b.leadership.token > first
    assert "a" in a.probe.running  # a cannot know yet: it is paused
    # a resumes: its renewal fails and its worker is told to stop
    a.store.thawed.set()
    await wait_until(lambda: "a" not in a.probe.running, within=5)
    assert not a.leadership.leading
    await wait_until(lambda: b.probe.running == {"b"}, within=5)
    stop.set()


async def test_run_once_runs_a_pass_only_for_the_holder(
    candidates: tuple[Candidate, Candidate],
) -> None:
    a, b = candidates
    assert await a.leadership.run_once() == 1
    assert await b.leadership.run_once() == 0
    assert await a.leadership.run_once() == 1  # renewed, not re-acquired
    assert (a.probe.passes, b.probe.passes) == (2, 0)
