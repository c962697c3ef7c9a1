"""Token-bucket rate limits per client, exact under a controlled clock."""

from __future__ import annotations

from pathlib import Path

import httpx2
from sqlalchemy.ext.asyncio import AsyncEngine

from storelink.api import HubState, Principal, Role
from storelink.api.ratelimit import Rate, RateLimiter
from storelink.api.ratelimit.backends import MemoryBackend
from storelink.config import Settings
from tests.api.conftest import FakeClock, make_app


async def test_bucket_arithmetic() -> None:
    now = [0.0]
    limiter = RateLimiter(MemoryBackend(), lambda: now[0])
    rate = Rate(per_s=2, burst=3)
    allowed = [(await limiter.take("c", rate)).allowed for _ in range(5)]
    assert allowed == [True, True, True, False, False]
    refused = await limiter.take("c", rate)
    assert refused.retry_after_s == 1 and refused.remaining == 0
    now[0] += 0.5  # one token back
    assert (await limiter.take("c", rate)).allowed
    assert not (await limiter.take("c", rate)).allowed
    assert (await limiter.take("other", rate)).allowed  # buckets are per client


async def test_exact_429_counts_with_role_and_client_limits(
    tmp_path: Path, sqlite_url: str, sqlite_engine: AsyncEngine
) -> None:
    clock = FakeClock()
    settings = Settings(
        data_dir=tmp_path / "data",
        database_url=sqlite_url,
        api={"rate_limits": {"support": {"per_s": 1, "burst": 5}}},
    )
    app = make_app(settings, sqlite_engine, clock)
    hub: HubState = app.state.hub
    role_default = await hub.tokens.mint(Principal("sup-1", Role.SUPPORT))
    override = await hub.tokens.mint(Principal("sup-2", Role.SUPPORT, rate_per_s=1, burst=2))
    async with httpx2.AsyncClient(
        transport=httpx2.ASGITransport(app=app), base_url="http://hub.test"
    ) as client:

        async def burst(token: str, n: int) -> list[httpx2.Response]:
            headers = {"Authorization": f"Bearer {token}"}
            return [await client.get("/v1/products", headers=headers) for _ in range(n)]

        first = await burst(role_default.access_token, 12)
        assert [a.status_code for a in first].count(429) == 7
        assert [a.status_code for a in first].count(200) == 5
        ok, limited = first[0], first[-1]
        assert ok.headers["ratelimit-limit"] == "5" and ok.headers["ratelimit-remaining"] == "4"
        assert limited.headers["retry-after"] == "1"
        assert limited.headers["ratelimit-remaining"] == "0"
        assert limited.headers["content-type"] == "application/problem+json"

        second = await burst(override.access_token, 6)
        assert [a.status_code for a in second].count(429) == 4  # the client's own burst of 2

        clock.advance(3)  # three tokens refill for the role default
        after = await burst(role_default.access_token, 5)
        assert [a.status_code for a in after] == [200, 200, 200, 429, 429]
