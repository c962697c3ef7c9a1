"""A running request keeps its claim by renewing the lease; routes may declare a rerun."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta

import httpx2
import pytest
from fastapi import APIRouter, Depends, FastAPI, Request
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from storelink.api import HubState, Principal, Role, create_app, require_role
from storelink.api.idempotency import RERUN, TAKEOVER
from storelink.api.tables import api_idempotency
from storelink.config import Settings
from storelink.model import utcnow
from tests.api.conftest import FakeClock
from tests.api.dead_claims import CHANNEL_CLIENT, leave_claim
from tests.sync.harness import wait_until

LEASE_S = 0.3

router = APIRouter()


@router.post("/v1/test/slow")
async def slow(
    request: Request, _p: Principal = Depends(require_role(Role.CHANNEL))
) -> dict[str, str]:
    await request.app.state.gate.wait()
    return {"done": "yes"}


@router.post("/v1/test/enable", openapi_extra={TAKEOVER: RERUN})
async def enable(
    request: Request, _p: Principal = Depends(require_role(Role.CHANNEL))
) -> dict[str, int]:
    request.app.state.runs += 1
    return {"runs": request.app.state.runs}


def _app(settings: Settings, engine: AsyncEngine, clock: FakeClock | None = None) -> FastAPI:
    app = create_app(settings, engine=engine, migrate=False, **({"clock": clock} if clock else {}))
    app.include_router(router)
    app.state.gate = asyncio.Event()
    app.state.runs = 0
    return app


@pytest.fixture
def lease_settings(hub_settings: Settings) -> Settings:
    return hub_settings.model_copy(
        update={"api": hub_settings.api.model_copy(update={"idempotency_lease_s": LEASE_S})}
    )


@pytest.fixture
async def real_time_client(
    lease_settings: Settings, engine: AsyncEngine
) -> AsyncIterator[tuple[FastAPI, httpx2.AsyncClient]]:
    app = _app(lease_settings, engine)  # the real clock: leases run out in real time
    async with httpx2.AsyncClient(
        transport=httpx2.ASGITransport(app=app), base_url="http://hub.test"
    ) as http:
        yield app, http


async def test_a_request_running_past_its_lease_keeps_its_claim(
    real_time_client: tuple[FastAPI, httpx2.AsyncClient],
) -> None:
    app, client = real_time_client
    hub: HubState = app.state.hub
    token = (
        await hub.tokens.mint(Principal(CHANNEL_CLIENT, Role.CHANNEL, channel="web"))
    ).access_token
    headers = {"Authorization": f"Bearer {token}", "Idempotency-Key": "k-slow"}
    first = asyncio.create_task(client.post("/v1/test/slow", json={}, headers=headers))

    async def claimed() -> object:
        async with hub.engine.connect() as connection:
            return (await connection.execute(select(api_idempotency.c.lease_expires_at))).scalar()

    await wait_until(claimed, within=5)
    first_expiry = await claimed()
    assert first_expiry is not None
    # wait (polling the clock) until the first lease would have run out twice over
    await wait_until(lambda: utcnow() > first_expiry + timedelta(seconds=LEASE_S), within=5)
    busy = await client.post("/v1/test/slow", json={}, headers=headers)
    assert busy.status_code == 409, busy.text
    assert busy.json()["type"].endswith("/idempotency-key-in-progress")  # not taken over
    renewed = await claimed()
    assert renewed is not None and renewed > first_expiry
    app.state.gate.set()
    assert (await first).status_code == 200
    replay = await client.post("/v1/test/slow", json={}, headers=headers)
    assert replay.headers["idempotent-replayed"] == "true"


async def test_a_route_that_declares_rerun_runs_again_after_a_takeover(
    lease_settings: Settings, engine: AsyncEngine, clock: FakeClock
) -> None:
    app = _app(lease_settings, engine, clock)
    hub: HubState = app.state.hub
    token = (
        await hub.tokens.mint(Principal(CHANNEL_CLIENT, Role.CHANNEL, channel="web"))
    ).access_token
    await leave_claim(hub, "/v1/test/enable", b"{}", key="k-rerun", client_id=CHANNEL_CLIENT)
    clock.advance(1)
    async with httpx2.AsyncClient(
        transport=httpx2.ASGITransport(app=app), base_url="http://hub.test"
    ) as client:
        answer = await client.post(
            "/v1/test/enable",
            content=b"{}",
            headers={
                "Authorization": f"Bearer {token}",
                "Idempotency-Key": "k-rerun",
                "Content-Type": "application/json",
            },
        )
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"runs": 1}
