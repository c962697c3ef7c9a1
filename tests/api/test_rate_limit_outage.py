"""A shared rate-limit backend that cannot answer: per-worker buckets decide, never a 500."""

from __future__ import annotations

import uuid
from pathlib import Path

import httpx2
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine
from structlog.testing import capture_logs

from storelink.api import HubState, Principal, Role
from storelink.api.ratelimit import Decision, Rate, RateLimiter
from storelink.api.ratelimit.backends import DatabaseBackend, MemoryBackend
from storelink.api.ratelimit.backends.redis import RedisBackend
from storelink.api.ratelimit.limiter import RETRY_S
from storelink.config import Settings
from storelink.db.writers import queue_writers
from storelink.errors import StorageError
from storelink.ops.metrics import REGISTRY
from tests.api.conftest import FakeClock, make_app
from tests.services import free_port


def _fallbacks(backend: str) -> float:
    value = REGISTRY.get_sample_value("storelink_rate_limit_fallback_total", {"backend": backend})
    return value or 0.0


class Clock:
    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


class FlakyBackend:
    """A shared backend that is down while ``down`` is set; counts the calls it gets."""

    name = "flaky"

    def __init__(self) -> None:
        self.down = True
        self.calls = 0
        self._buckets = MemoryBackend()

    async def take(self, key: str, rate: Rate, now: float) -> Decision:
        self.calls += 1
        if self.down:
            raise StorageError("down", backend=self.name, error="ConnectionError")
        return await self._buckets.take(key, rate, now)

    async def aclose(self) -> None:
        pass


async def test_redis_down_decides_per_worker_with_a_warning_and_a_metric() -> None:
    dead = RedisBackend(f"redis://127.0.0.1:{free_port()}/0", prefix="t", timeout_s=0.25)
    limiter = RateLimiter(dead, Clock())
    before = _fallbacks("redis")
    with capture_logs() as logs:
        decisions = [await limiter.take("c", Rate(per_s=1, burst=3)) for _ in range(5)]
    await limiter.aclose()
    # the per-worker bucket still holds the client to its burst
    assert [d.allowed for d in decisions] == [True, True, True, False, False]
    assert limiter.degraded
    assert _fallbacks("redis") - before == 5
    warnings = [entry for entry in logs if entry["log_level"] == "warning"]
    assert len(warnings) == 1 and warnings[0]["backend"] == "redis"  # once per outage


async def test_a_failed_backend_is_left_alone_for_a_while_then_used_again() -> None:
    clock, flaky = Clock(), FlakyBackend()
    limiter = RateLimiter(flaky, clock)
    rate = Rate(per_s=1, burst=100)
    await limiter.take("c", rate)
    await limiter.take("c", rate)
    assert flaky.calls == 1  # not asked again within RETRY_S: no connect attempt per request
    flaky.down = False
    clock.now += RETRY_S
    with capture_logs() as logs:
        decided = await limiter.take("c", rate)
    assert flaky.calls == 2 and decided.allowed and not limiter.degraded
    assert [entry["event"] for entry in logs] == ["rate-limit backend answers again"]


async def test_a_saturated_database_backend_decides_per_worker(sqlite_engine: AsyncEngine) -> None:
    queue_writers(sqlite_engine, timeout_s=10).timeout_s = 0.2  # the installed queue, shorter
    limiter = RateLimiter(DatabaseBackend(sqlite_engine), Clock())
    async with sqlite_engine.connect() as holder:
        # another writer holds the turn past the wait
        await holder.begin()
        await holder.execute(text("DELETE FROM api_rate_limit_buckets WHERE 1 = 0"))
        decided = await limiter.take("c", Rate(per_s=1, burst=2))
        await holder.rollback()
    assert decided.allowed and decided.remaining == 1
    assert limiter.degraded


async def test_the_api_keeps_serving_and_limiting_while_redis_is_down(
    tmp_path: Path, sqlite_url: str, sqlite_engine: AsyncEngine
) -> None:
    settings = Settings(
        data_dir=tmp_path / "data",
        database_url=sqlite_url,
        api={
            "rate_limits": {"support": {"per_s": 1, "burst": 2}},
            "redis_url": f"redis://127.0.0.1:{free_port()}/0",
        },
    )
    app = make_app(settings, sqlite_engine, FakeClock())
    hub: HubState = app.state.hub
    assert hub.rate_limiter.backend.name == "redis"  # auto: Redis when redis_url is set
    token = (await hub.tokens.mint(Principal("sup-1", Role.SUPPORT))).access_token
    async with httpx2.AsyncClient(
        transport=httpx2.ASGITransport(app=app), base_url="http://hub.test"
    ) as client:
        answers = [
            await client.get("/v1/products", headers={"Authorization": f"Bearer {token}"})
            for _ in range(3)
        ]
    await hub.aclose()
    assert [a.status_code for a in answers] == [200, 200, 429]
    assert answers[0].headers["ratelimit-remaining"] == "1"
    assert answers[2].headers["retry-after"] == "1"
    assert answers[2].headers["content-type"] == "application/problem+json"


@pytest.mark.parametrize(
    ("backend", "extra"),
    [("database", {}), ("redis", {"redis_url": "from-fixture"})],
)
@pytest.mark.parametrize(
    "database_url", [pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True
)
async def test_two_hub_workers_on_one_store_share_a_clients_limit(
    backend: str,
    extra: dict[str, str],
    engine: AsyncEngine,
    tmp_path: Path,
    request: pytest.FixtureRequest,
) -> None:
    if "redis_url" in extra:
        extra = {"redis_url": request.getfixturevalue("redis_url")}
    settings = Settings(
        data_dir=tmp_path / "data",
        api={
            "rate_limits": {"support": {"per_s": 1, "burst": 4}},
            "rate_limit_backend": backend,
            "redis_prefix": f"test-{uuid.uuid4().hex}",
            **extra,
        },
    )
    clock = FakeClock()
    apps = [make_app(settings, engine, clock) for _ in range(2)]
    hubs: list[HubState] = [app.state.hub for app in apps]
    token = (await hubs[0].tokens.mint(Principal(f"sup-{backend}", Role.SUPPORT))).access_token
    clients = [
        httpx2.AsyncClient(transport=httpx2.ASGITransport(app=app), base_url="http://hub.test")
        for app in apps
    ]
    try:
        statuses = [
            (
                await clients[i % 2].get(
                    "/v1/products", headers={"Authorization": f"Bearer {token}"}
                )
            ).status_code
            for i in range(8)
        ]
    finally:
        for client in clients:
            await client.aclose()
        for hub in hubs:
            await hub.aclose()
    # alternating between the two workers: one burst between them, not one each
    assert statuses == [200, 200, 200, 200, 429, 429, 429, 429]
