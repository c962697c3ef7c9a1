"""The sync endpoints over real HTTP: store-scoped credentials, durable idempotent upload."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from storelink.api.tables import api_idempotency
from storelink.config import Settings
from storelink.edge import QueuedTransaction
from storelink.edge.hub import HttpHubClient
from storelink.errors import SyncError
from storelink.model import utcnow
from storelink.ops import async_client
from storelink.sync import Dataset, Drain
from tests.sync.harness import FakeOdoo, seed, serve_hub
from tests.sync.test_uploads_and_deltas import sale_transaction


async def test_a_store_reaches_only_its_own_store(settings: Settings, engine: AsyncEngine) -> None:
    await seed(engine, stores_=("S1", "S2"))
    async with serve_hub(settings, engine) as hub:
        client_id, secret = await hub.store_client("S1")
        client = HttpHubClient(hub.url, client_id=client_id, client_secret=secret)
        try:
            transaction = sale_transaction()
            first = await client.upload("S1", [QueuedTransaction.of(transaction)])
            assert first.accepted == [transaction.uuid]
            assert (await client.upload("S1", [QueuedTransaction.of(transaction)])).duplicates == [
                transaction.uuid
            ]
            page = await client.delta("S1", Dataset.PRODUCTS, after=0, limit=10)
            assert {p.sku for p in page.products} == {"SKU-1", "SKU-2"}
            for call in (
                client.delta("S2", Dataset.PRODUCTS, after=0, limit=10),
                client.upload("S2", [QueuedTransaction.of(sale_transaction(store="S2"))]),
            ):
                try:
                    await call
                except SyncError as exc:
                    assert exc.context["status"] == 404
                else:
                    raise AssertionError("store S1 reached store S2")
        finally:
            await client.aclose()
        async with async_client(base_url=hub.url) as anonymous:
            response = await anonymous.get("/v1/sync/stores/S1/deltas/products")
        assert response.status_code == 401
        assert response.headers["content-type"].startswith("application/problem+json")


async def test_the_hub_tracks_last_contact_and_sync_lag(
    settings: Settings, sqlite_engine: AsyncEngine
) -> None:
    await seed(sqlite_engine)
    async with serve_hub(settings, sqlite_engine) as hub:
        client_id, secret = await hub.store_client("S1")
        client = HttpHubClient(hub.url, client_id=client_id, client_secret=secret)
        try:
            await client.upload("S1", [QueuedTransaction.of(sale_transaction()) for _ in range(2)])
        finally:
            await client.aclose()
        drain = Drain(sqlite_engine, FakeOdoo(), clock=lambda: utcnow() + timedelta(seconds=30))
        await drain.refresh_metrics()
        async with async_client(base_url=hub.url) as http:
            text = (await http.get("/metrics")).text
    samples = {
        line.split(" ")[0]: float(line.split(" ")[1])
        for line in text.splitlines()
        if line.startswith("storelink_store_") and 'store="S1"' in line
    }
    assert samples['storelink_store_sync_backlog{store="S1"}'] == 2
    assert samples['storelink_store_sync_lag_seconds{store="S1"}'] >= 29
    assert (
        abs(
            samples['storelink_store_last_contact_timestamp_seconds{store="S1"}']
            - utcnow().timestamp()
        )
        < 60
    )


async def test_uploads_need_no_idempotency_key_and_store_no_answer(
    settings: Settings, sqlite_engine: AsyncEngine
) -> None:
    """The upload is idempotent by transaction uuid: the Idempotency-Key layer stays out."""
    await seed(sqlite_engine)
    async with serve_hub(settings, sqlite_engine) as hub:
        client_id, secret = await hub.store_client("S1")
        issued = await hub.app.state.hub.tokens.issue(client_id, secret)
        transaction = sale_transaction()
        body = '{"transactions":[' + QueuedTransaction.of(transaction).wire + "]}"
        headers = {
            "authorization": f"Bearer {issued.access_token}",
            "content-type": "application/json",
        }
        async with async_client(base_url=hub.url) as http:
            first = await http.post(
                "/v1/sync/stores/S1/transactions", content=body, headers=headers
            )
            again = await http.post(
                "/v1/sync/stores/S1/transactions", content=body, headers=headers
            )
            document = (await http.get("/v1/openapi.json")).json()
    assert first.status_code == 200, first.text
    assert first.json()["accepted"] == [str(transaction.uuid)]
    assert again.json()["duplicates"] == [str(transaction.uuid)]
    async with sqlite_engine.connect() as connection:
        stored = await connection.scalar(select(func.count()).select_from(api_idempotency))
    assert stored == 0
    operation = document["paths"]["/v1/sync/stores/{code}/transactions"]["post"]
    assert "Idempotency-Key" not in {p["name"] for p in operation.get("parameters", [])}
