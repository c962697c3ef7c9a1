"""Fixtures for the hub API: a migrated hub on a controllable clock, and tokens per role."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

import httpx2
import pytest
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncEngine

from storelink.api import HubState, Principal, Role, create_app
from storelink.config import Settings
from tests.services import port_open, unavailable

REDIS_URL = os.environ.get("STORELINK_TEST_REDIS", "redis://127.0.0.1:6379/0")


class FakeClock:
    """A clock tests move by hand."""

    def __init__(self, start: datetime | None = None) -> None:
        self.now = start or datetime(2026, 3, 2, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def hub_settings(tmp_path: Path, sqlite_url: str) -> Settings:
    # generous limits: rate limiting has its own tests with their own settings
    generous = {role.value: {"per_s": 10_000, "burst": 10_000} for role in Role}
    return Settings(
        data_dir=tmp_path / "data", database_url=sqlite_url, api={"rate_limits": generous}
    )


def make_app(settings: Settings, engine: AsyncEngine, clock: FakeClock) -> FastAPI:
    return create_app(settings, engine=engine, migrate=False, clock=clock)


@pytest.fixture
def app(hub_settings: Settings, engine: AsyncEngine, clock: FakeClock) -> FastAPI:
    return make_app(hub_settings, engine, clock)


@pytest.fixture
def hub(app: FastAPI) -> HubState:
    state: HubState = app.state.hub
    return state


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx2.AsyncClient]:
    transport = httpx2.ASGITransport(app=app)
    async with httpx2.AsyncClient(transport=transport, base_url="http://hub.test") as http:
        yield http


Minter = Callable[..., Awaitable[dict[str, str]]]


@pytest.fixture
def auth(hub: HubState) -> Minter:
    """``await auth(Role.STORE, store="S001")`` → Authorization headers for that principal."""

    async def mint(
        role: Role, *, store: str | None = None, channel: str | None = None, client_id: str = ""
    ) -> dict[str, str]:
        principal = Principal(
            client_id=client_id or f"test-{role.value}-{store or channel or 'x'}",
            role=role,
            store=store,
            channel=channel,
        )
        issued = await hub.tokens.mint(principal)
        return {"Authorization": f"Bearer {issued.access_token}"}

    return mint


@pytest.fixture
def redis_url() -> str:
    """The real Redis (skipped locally when absent, fails in CI)."""
    where = urlsplit(REDIS_URL)
    if not port_open(where.hostname or "127.0.0.1", where.port or 6379):
        unavailable("Redis")
    return REDIS_URL
