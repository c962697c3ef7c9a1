"""The hub's webhook routes: signed inbound intake over real HTTP, endpoint management."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import uuid4

import httpx2
import pytest
from fastapi import FastAPI
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine
from standardwebhooks.webhooks import Webhook

from storelink.api import HubState, Principal, Role, create_app
from storelink.bus.tables import outbox
from storelink.config import Settings
from storelink.webhooks import Intake, ManualClock, SecretBox
from tests.webhooks.conftest import price_event
from tests.webhooks.receiver import listen


@pytest.fixture
def engine(sqlite_engine: AsyncEngine) -> AsyncEngine:
    """The API layer on SQLite only: the SQL underneath runs on both databases elsewhere."""
    return sqlite_engine


@pytest.fixture
def hub_settings(tmp_path: Path, sqlite_url: str) -> Settings:
    generous = {role.value: {"per_s": 10_000, "burst": 10_000} for role in Role}
    return Settings(
        data_dir=tmp_path / "data",
        database_url=sqlite_url,
        api={"rate_limits": generous},
        webhooks={"allow_http": True, "allowed_hosts": ["127.0.0.1"]},
    )


@pytest.fixture
def secret_box(hub_settings: Settings) -> SecretBox:
    """The hub's own box: secrets written here are the ones its routes open."""
    return SecretBox.from_settings(hub_settings)


@pytest.fixture
def hub_app(hub_settings: Settings, engine: AsyncEngine) -> FastAPI:
    return create_app(hub_settings, engine=engine, migrate=False)


@pytest.fixture
async def hub_url(hub_app: FastAPI) -> AsyncIterator[str]:
    async with listen(hub_app) as port:
        yield f"http://127.0.0.1:{port}"


def _signed(
    secret: str, body: str, *, msg_id: str | None = None, at: datetime | None = None
) -> dict[str, str]:
    msg_id = msg_id or f"msg_{uuid4().hex}"
    when = at or datetime.now(UTC)
    signature = Webhook(secret).sign(msg_id, when, body)
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(when.timestamp())),
        "webhook-signature": signature,
        "content-type": "application/json",
    }


async def test_inbound_accepts_signed_payloads_and_refuses_bad_ones(
    engine: AsyncEngine, hub_url: str, secret_box: SecretBox
) -> None:
    secret = await Intake(engine, secret_box=secret_box).add_source("loyalty")
    event = price_event()
    body = event.model_dump_json()
    url = f"{hub_url}/v1/inbound/loyalty"
    async with httpx2.AsyncClient() as http:
        headers = _signed(secret, body)
        accepted = await http.post(url, content=body, headers=headers)
        replayed = await http.post(url, content=body, headers=headers)
        forged = await http.post(url, content=body, headers=_signed("whsec_" + "A" * 40, body))
        stale = await http.post(
            url,
            content=body,
            headers=_signed(secret, body, at=datetime.now(UTC) - timedelta(minutes=6)),
        )
        tampered = await http.post(url, content=body.replace("9.99", "0.01"), headers=headers)
        unknown = await http.post(f"{hub_url}/v1/inbound/nobody", content=body, headers=headers)
        not_event = await http.post(url, content="{}", headers=_signed(secret, "{}"))

    assert accepted.status_code == 202, accepted.text
    assert accepted.json() == {"event_id": event.id, "type": event.type, "duplicate": False}
    problems = {
        "replayed": (replayed, 409, "replayed-webhook"),
        "forged": (forged, 401, "signature"),
        "stale": (stale, 401, "stale-timestamp"),
        "tampered": (tampered, 401, "signature"),
        "unknown": (unknown, 404, "not-found"),
        "not_event": (not_event, 422, "validation"),
    }
    for name, (response, status, kind) in problems.items():
        assert response.status_code == status, (name, response.text)
        assert response.headers["content-type"] == "application/problem+json", name
        assert response.json()["type"].endswith("/" + kind), (name, response.json())
    async with engine.connect() as connection:
        envelopes = (await connection.execute(select(outbox.c.envelope))).scalars().all()
    assert [json.loads(e)["id"] for e in envelopes] == [event.id]


async def test_same_event_under_a_new_webhook_id_is_a_duplicate_not_a_second_effect(
    engine: AsyncEngine, hub_url: str, secret_box: SecretBox
) -> None:
    secret = await Intake(engine, secret_box=secret_box).add_source("shop")
    body = price_event().model_dump_json()
    async with httpx2.AsyncClient() as http:
        first = await http.post(
            f"{hub_url}/v1/inbound/shop", content=body, headers=_signed(secret, body)
        )
        second = await http.post(
            f"{hub_url}/v1/inbound/shop", content=body, headers=_signed(secret, body)
        )
    assert (first.json()["duplicate"], second.json()["duplicate"]) == (False, True)
    async with engine.connect() as connection:
        assert len((await connection.execute(select(outbox.c.id))).all()) == 1


@pytest.fixture
async def client(hub_app: FastAPI) -> AsyncIterator[httpx2.AsyncClient]:
    transport = httpx2.ASGITransport(app=hub_app)
    async with httpx2.AsyncClient(transport=transport, base_url="http://hub.test") as http:
        yield http


async def _bearer(app: FastAPI, role: Role, channel: str | None = None) -> dict[str, str]:
    hub: HubState = app.state.hub
    issued = await hub.tokens.mint(
        Principal(client_id=f"t-{role.value}-{channel}", role=role, channel=channel)
    )
    return {"Authorization": f"Bearer {issued.access_token}"}


async def test_partners_manage_only_their_own_endpoints(
    hub_app: FastAPI, client: httpx2.AsyncClient
) -> None:
    shop = await _bearer(hub_app, Role.PARTNER, "web")
    market = await _bearer(hub_app, Role.PARTNER, "marketplace")
    admin = await _bearer(hub_app, Role.ADMIN)
    store = await _bearer(hub_app, Role.STORE)

    def post(path: str, headers: dict[str, str], body: object = None) -> object:
        return client.post(path, json=body, headers={**headers, "Idempotency-Key": uuid4().hex})

    created = await post(
        "/v1/webhooks/endpoints",
        shop,
        {"url": "http://127.0.0.1:9/hooks", "event_types": ["storelink.order.*"], "ordered": True},
    )
    assert created.status_code == 201, created.text
    endpoint = created.json()
    assert endpoint["owner"] == "web" and endpoint["secret"].startswith("whsec_")
    endpoint_id = endpoint["id"]

    unsafe = await post("/v1/webhooks/endpoints", shop, {"url": "http://10.0.0.8/hooks"})
    assert unsafe.status_code == 422 and "non-public" in unsafe.json()["detail"]
    assert (
        await post("/v1/webhooks/endpoints", store, {"url": "http://127.0.0.1:9/"})
    ).status_code == 403

    mine = await client.get("/v1/webhooks/endpoints", headers=shop)
    theirs = await client.get("/v1/webhooks/endpoints", headers=market)
    everything = await client.get("/v1/webhooks/endpoints", headers=admin)
    assert [e["id"] for e in mine.json()] == [endpoint_id]
    assert theirs.json() == []
    assert [e["id"] for e in everything.json()] == [endpoint_id]
    assert (
        await client.get(f"/v1/webhooks/endpoints/{endpoint_id}", headers=market)
    ).status_code == 404
    assert (
        await post(f"/v1/webhooks/endpoints/{endpoint_id}/disable", market, {})
    ).status_code == 404

    disabled = await post(
        f"/v1/webhooks/endpoints/{endpoint_id}/disable", shop, {"reason": "migrating"}
    )
    assert (disabled.json()["enabled"], disabled.json()["disabled_reason"]) == (False, "migrating")
    enabled = await post(f"/v1/webhooks/endpoints/{endpoint_id}/enable", shop)
    assert enabled.json()["enabled"] is True
    rotated = await post(f"/v1/webhooks/endpoints/{endpoint_id}/rotate-secret", shop)
    assert rotated.json()["secret"] != endpoint["secret"]
    attempts = await client.get(f"/v1/webhooks/endpoints/{endpoint_id}/attempts", headers=shop)
    assert attempts.status_code == 200 and attempts.json() == []
    replay = await post(
        f"/v1/webhooks/endpoints/{endpoint_id}/replay",
        shop,
        {"since": "2026-01-01T00:00:00Z", "scope": "all"},
    )
    assert replay.json() == {"requeued": 0}


async def test_admins_rotate_a_source_secret_and_the_old_one_verifies_during_the_overlap(
    hub_settings: Settings, engine: AsyncEngine, secret_box: SecretBox
) -> None:
    clock = ManualClock()  # the hub's clock: moved by hand past the overlap, no sleeping
    app = create_app(hub_settings, engine=engine, migrate=False, clock=clock.now)
    old = await Intake(engine, secret_box=secret_box).add_source("loyalty")
    admin = await _bearer(app, Role.ADMIN)
    partner = await _bearer(app, Role.PARTNER, "loyalty")

    async def inbound(http: httpx2.AsyncClient, url: str, secret: str) -> int:
        body = price_event().model_dump_json()
        answer = await http.post(url, content=body, headers=_signed(secret, body, at=clock.now()))
        return answer.status_code

    async with listen(app) as port, httpx2.AsyncClient() as http:
        base = f"http://127.0.0.1:{port}"

        def rotate(source: str, headers: dict[str, str], body: object) -> Any:
            return http.post(
                f"{base}/v1/webhooks/sources/{source}/rotate-secret",
                json=body,
                headers={**headers, "Idempotency-Key": uuid4().hex},
            )

        assert (await rotate("loyalty", partner, {})).status_code == 403
        assert (await rotate("nobody", admin, {})).status_code == 404
        assert (await rotate("loyalty", admin, {"overlap_s": -1})).status_code == 422
        rotated = await rotate("loyalty", admin, {"overlap_s": 300})
        assert rotated.status_code == 200, rotated.text
        new = rotated.json()["secret"]
        assert new.startswith("whsec_") and new != old

        url = f"{base}/v1/inbound/loyalty"
        assert (await inbound(http, url, old), await inbound(http, url, new)) == (202, 202)
        clock.advance(301)
        assert (await inbound(http, url, old), await inbound(http, url, new)) == (401, 202)
