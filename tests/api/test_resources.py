"""Catalogue, price, stock and store lookups; problem+json answers."""

from __future__ import annotations

from datetime import timedelta

import httpx2
import pytest

from storelink.api import HubState, Role
from tests.api.conftest import FakeClock, Minter
from tests.api.seed import BARCODE, SKU, seed_read_model


@pytest.fixture
async def seeded(hub: HubState) -> HubState:
    await seed_read_model(hub.engine, hub.clock(), products_count=7)
    return hub


async def test_product_pages_and_filters(
    client: httpx2.AsyncClient, seeded: HubState, auth: Minter
) -> None:
    headers = await auth(Role.PARTNER, channel="web")
    seen: list[str] = []
    cursor = None
    while True:
        params = {"limit": "3", **({"cursor": cursor} if cursor else {})}
        page = (await client.get("/v1/products", params=params, headers=headers)).json()
        seen += [item["sku"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == 7 and seen == sorted(seen)
    toys = (await client.get("/v1/products", params={"category": "toys"}, headers=headers)).json()
    assert {item["category"] for item in toys["items"]} == {"toys"} and len(toys["items"]) == 3
    by_code = await client.get(f"/v1/products/by-barcode/{BARCODE}", headers=headers)
    assert by_code.json()["sku"] == SKU
    assert (await client.get("/v1/products/NOPE", headers=headers)).status_code == 404


async def test_effective_price_by_scope_and_time(
    client: httpx2.AsyncClient, seeded: HubState, auth: Minter, clock: FakeClock
) -> None:
    admin = await auth(Role.ADMIN)
    fallback = (
        await client.get(f"/v1/prices/{SKU}", params={"store": "S001"}, headers=admin)
    ).json()
    assert fallback["amount"] == "9.9900" and fallback["scope"] == {
        "kind": "pricelist",
        "code": "retail",
    }
    own = (await client.get(f"/v1/prices/{SKU}", params={"store": "S002"}, headers=admin)).json()
    assert own["amount"] == "8.5000"
    later = (clock() + timedelta(days=2)).isoformat()
    future = await client.get(
        f"/v1/prices/{SKU}", params={"store": "S002", "at": later}, headers=admin
    )
    assert future.json()["amount"] == "7.2500" and future.json()["version"] == 2
    web = await auth(Role.CHANNEL, channel="web")
    assert (await client.get(f"/v1/prices/{SKU}", headers=web)).json()["amount"] == "10.4900"
    store = await auth(Role.STORE, store="S001")
    assert (
        await client.get(f"/v1/prices/{SKU}", params={"store": "S002"}, headers=store)
    ).status_code == 404
    both = await client.get(
        f"/v1/prices/{SKU}", params={"store": "S1", "channel": "web"}, headers=admin
    )
    assert both.status_code == 422 and both.json()["errors"][0]["pointer"] == "/store"


async def test_stock_is_scoped_for_stores(
    client: httpx2.AsyncClient, seeded: HubState, auth: Minter
) -> None:
    everything = (
        await client.get(f"/v1/stock/{SKU}", headers=await auth(Role.CHANNEL, channel="web"))
    ).json()
    assert everything["available_total"] == "109.0000"
    assert [p["location"] for p in everything["positions"]] == ["L-S001", "L-S002", "WH"]
    store = await auth(Role.STORE, store="S001")
    mine = (await client.get(f"/v1/stock/{SKU}", headers=store)).json()
    assert [p["location"] for p in mine["positions"]] == ["L-S001"] and mine[
        "available_total"
    ] == "4.0000"
    assert (await client.get("/v1/locations/L-S001/stock", headers=store)).status_code == 200
    assert (await client.get("/v1/locations/L-S002/stock", headers=store)).status_code == 404
    assert (await client.get("/v1/locations/NOWHERE/stock", headers=store)).status_code == 404


async def test_store_status_reports_sync_lag(
    client: httpx2.AsyncClient, seeded: HubState, auth: Minter
) -> None:
    support = await auth(Role.SUPPORT)
    stores = (await client.get("/v1/stores", headers=support)).json()
    assert [s["code"] for s in stores] == ["S001", "S002"]
    own = (await client.get("/v1/stores", headers=await auth(Role.STORE, store="S002"))).json()
    assert [s["code"] for s in own] == ["S002"]
    status = (await client.get("/v1/stores/S001", headers=support)).json()
    assert (
        status["backlog"] == 0 and status["sync_lag_s"] == 0.0 and status["last_contact_at"] is None
    )


async def test_validation_problem_points_at_each_field(
    client: httpx2.AsyncClient, hub: HubState, auth: Minter
) -> None:
    headers = {**await auth(Role.CHANNEL, channel="web"), "Idempotency-Key": "v"}
    body = {
        "external_ref": "X",
        "currency": "euro",
        "lines": [{"sku": "SKU-1", "quantity": 1.5, "unit_price": "1"}],
        "surprise": True,
    }
    answer = await client.post("/v1/orders", json=body, headers=headers)
    assert answer.status_code == 422
    assert answer.headers["content-type"] == "application/problem+json"
    problem = answer.json()
    assert problem["status"] == 422 and problem["title"]
    pointers = {error["pointer"] for error in problem["errors"]}
    assert {"/currency", "/lines/0/quantity", "/surprise"} <= pointers
    bad_query = await client.get("/v1/products", params={"limit": "0"}, headers=headers)
    assert bad_query.json()["errors"][0] == {
        "parameter": "limit",
        "in": "query",
        "detail": bad_query.json()["errors"][0]["detail"],
    }
    unknown = await client.get("/v1/nothing-here", headers=headers)
    assert (
        unknown.status_code == 404 and unknown.headers["content-type"] == "application/problem+json"
    )
