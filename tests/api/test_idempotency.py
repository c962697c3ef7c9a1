"""Idempotency-Key: replay, conflict, concurrency, expiry."""

from __future__ import annotations

import asyncio

import httpx2
from sqlalchemy import func, select

from storelink.api import HubState, Role
from storelink.api.tables import api_idempotency, api_orders
from storelink.bus.tables import outbox
from tests.api.conftest import FakeClock, Minter

ORDER = {
    "external_ref": "WEB-1001",
    "currency": "EUR",
    "lines": [{"sku": "SKU-1", "quantity": "2", "unit_price": "4.50"}],
}


async def _count(hub: HubState) -> tuple[int, int]:
    async with hub.engine.connect() as connection:
        orders = (
            await connection.execute(select(func.count()).select_from(api_orders))
        ).scalar_one()
        events = (await connection.execute(select(func.count()).select_from(outbox))).scalar_one()
    return int(orders), int(events)


async def test_replay_returns_first_response(
    client: httpx2.AsyncClient, hub: HubState, auth: Minter
) -> None:
    headers = {**await auth(Role.CHANNEL, channel="web"), "Idempotency-Key": "k-1"}
    first = await client.post("/v1/orders", json=ORDER, headers=headers)
    assert first.status_code == 201, first.text
    again = await client.post("/v1/orders", json=ORDER, headers=headers)
    assert again.status_code == 201
    assert again.content == first.content
    assert again.headers["location"] == first.headers["location"]
    assert again.headers["idempotent-replayed"] == "true"
    assert await _count(hub) == (1, 1)


async def test_same_key_different_body_is_422(
    client: httpx2.AsyncClient, hub: HubState, auth: Minter
) -> None:
    headers = {**await auth(Role.CHANNEL, channel="web"), "Idempotency-Key": "k-2"}
    assert (await client.post("/v1/orders", json=ORDER, headers=headers)).status_code == 201
    other = {**ORDER, "external_ref": "WEB-1002"}
    conflict = await client.post("/v1/orders", json=other, headers=headers)
    assert conflict.status_code == 422
    assert conflict.headers["content-type"] == "application/problem+json"
    assert "different request" in conflict.json()["detail"]
    assert await _count(hub) == (1, 1)


async def test_keys_are_per_client(client: httpx2.AsyncClient, hub: HubState, auth: Minter) -> None:
    web = {**await auth(Role.CHANNEL, channel="web"), "Idempotency-Key": "shared"}
    shop = {**await auth(Role.CHANNEL, channel="shop"), "Idempotency-Key": "shared"}
    assert (await client.post("/v1/orders", json=ORDER, headers=web)).status_code == 201
    assert (await client.post("/v1/orders", json=ORDER, headers=shop)).status_code == 201
    assert await _count(hub) == (2, 2)


async def test_concurrent_duplicates_have_one_effect(
    client: httpx2.AsyncClient, hub: HubState, auth: Minter
) -> None:
    headers = {**await auth(Role.CHANNEL, channel="web"), "Idempotency-Key": "k-race"}
    answers = await asyncio.gather(
        *(client.post("/v1/orders", json=ORDER, headers=headers) for _ in range(8))
    )
    statuses = sorted(answer.status_code for answer in answers)
    assert set(statuses) <= {201, 409}, statuses
    assert 201 in statuses
    created = {answer.content for answer in answers if answer.status_code == 201}
    assert len(created) == 1  # every 201 is the same (first) response
    assert all(a.headers.get("retry-after") for a in answers if a.status_code == 409)
    assert await _count(hub) == (1, 1)


async def test_failed_request_releases_key(
    client: httpx2.AsyncClient, hub: HubState, auth: Minter
) -> None:
    headers = {**await auth(Role.CHANNEL, channel="web"), "Idempotency-Key": "k-fix"}
    bad = await client.post("/v1/orders", json={**ORDER, "lines": []}, headers=headers)
    assert bad.status_code == 422
    assert await _count(hub) == (0, 0)  # nothing partially written on a 4xx
    fixed = await client.post("/v1/orders", json=ORDER, headers=headers)
    assert fixed.status_code == 201


async def test_missing_key_is_400_and_changes_nothing(
    client: httpx2.AsyncClient, hub: HubState, auth: Minter
) -> None:
    answer = await client.post(
        "/v1/orders", json=ORDER, headers=await auth(Role.CHANNEL, channel="web")
    )
    assert answer.status_code == 400
    assert answer.json()["errors"][0]["parameter"] == "Idempotency-Key"
    assert await _count(hub) == (0, 0)


async def test_key_expires_after_ttl(
    client: httpx2.AsyncClient, hub: HubState, auth: Minter, clock: FakeClock
) -> None:
    headers = {**await auth(Role.CHANNEL, channel="web"), "Idempotency-Key": "k-old"}
    assert (await client.post("/v1/orders", json=ORDER, headers=headers)).status_code == 201
    clock.advance(hub.settings.api.idempotency_ttl_s - 1)
    headers = {**await auth(Role.CHANNEL, channel="web"), "Idempotency-Key": "k-old"}
    replay = await client.post("/v1/orders", json=ORDER, headers=headers)
    assert replay.headers.get("idempotent-replayed") == "true"
    clock.advance(2)
    headers = {**await auth(Role.CHANNEL, channel="web"), "Idempotency-Key": "k-old"}
    fresh = await client.post("/v1/orders", json=ORDER, headers=headers)
    # the window closed: the request runs again and meets the unique channel order number
    assert fresh.status_code == 409 and "idempotent-replayed" not in fresh.headers
    async with hub.engine.connect() as connection:
        rows = (
            await connection.execute(select(func.count()).select_from(api_idempotency))
        ).scalar()
    assert rows == 0


async def test_stored_answers_are_sealed_at_rest(
    client: httpx2.AsyncClient, hub: HubState, auth: Minter
) -> None:
    # a new client's secret is shown once, in the answer the middleware keeps for replays
    headers = {**await auth(Role.ADMIN), "Idempotency-Key": "new-client"}
    body = {"role": "store", "store": "S001"}
    first = await client.post("/v1/admin/clients", json=body, headers=headers)
    assert first.status_code == 201, first.text
    secret = first.json()["client_secret"]
    async with hub.engine.connect() as connection:
        stored = (await connection.execute(select(api_idempotency.c.body))).scalars().all()
    assert stored and all(secret.encode() not in bytes(raw) for raw in stored)
    assert all(b"client_secret" not in bytes(raw) for raw in stored)
    again = await client.post("/v1/admin/clients", json=body, headers=headers)
    assert again.headers["idempotent-replayed"] == "true"
    assert again.json()["client_secret"] == secret
