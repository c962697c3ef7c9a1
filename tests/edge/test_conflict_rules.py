"""The conflict rules of docs/conflict-rules.md, through a real hub and the drain."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import httpx2
import pytest
from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncEngine

from storelink.config import Settings
from storelink.db.tables import prices
from storelink.edge import Agent, AgentConfig
from storelink.model import utcnow
from storelink.sync import Drain, next_revision
from tests.edge.conftest import Clock
from tests.sync.harness import FakeOdoo, RunningHub, seed, serve_hub, set_position


@pytest.fixture
def clock() -> Clock:
    """The hub seeds prices relative to the real time, so start there."""
    return Clock(utcnow())


@pytest.fixture
async def hub(settings: Settings, sqlite_engine: AsyncEngine) -> AsyncIterator[RunningHub]:
    await seed(sqlite_engine, skus=["SKU-1"], on_hand=Decimal(5))
    async with serve_hub(settings, sqlite_engine) as running:
        yield running


@pytest.fixture
async def store(hub: RunningHub, tmp_path: Path, clock: Clock) -> AsyncIterator[Agent]:
    client_id, secret = await hub.store_client("S1")
    config = AgentConfig(
        store="S1",
        hub_url=hub.url,
        database=tmp_path / "agent.db",
        client_id=client_id,
        client_secret=secret,
    )
    agent = Agent(config, clock=clock)
    await agent.downloader.run_once()
    try:
        yield agent
    finally:
        await agent.aclose()


async def available(agent: Agent, sku: str = "SKU-1") -> Decimal:
    async with httpx2.AsyncClient(
        transport=httpx2.ASGITransport(app=agent.app), base_url="http://agent"
    ) as pos:
        return Decimal((await pos.get(f"/v1/products/{sku}")).json()["available"])


async def sell(agent: Agent, quantity: int) -> None:
    async with httpx2.AsyncClient(
        transport=httpx2.ASGITransport(app=agent.app), base_url="http://agent"
    ) as pos:
        answer = await pos.post(
            "/v1/sales",
            json={
                "lines": [{"sku": "SKU-1", "quantity": str(quantity)}],
                "payments": [{"method": "cash", "amount": str(Decimal("2.50") * quantity)}],
            },
        )
        assert answer.status_code == 201, answer.text


async def test_offline_sales_and_central_changes_add_up(
    store: Agent, sqlite_engine: AsyncEngine
) -> None:
    odoo = FakeOdoo(on_hand={("SKU-1", "S1"): Decimal(5)})
    assert await available(store) == 5
    await sell(store, 2)  # offline: not uploaded yet
    assert await available(store) == 3
    # central: 10 received in Odoo, seen by the hub before the store's sale reaches it
    odoo.on_hand[("SKU-1", "S1")] += 10
    await set_position(sqlite_engine, "SKU-1", "S1", Decimal(15))
    await store.downloader.run_once()
    assert await available(store) == 13  # 15 central, minus the unconfirmed sale of 2
    assert await store.uploader.run_once() == 1
    assert await available(store) == 13  # uploaded but not yet in a hub position
    drain = Drain(sqlite_engine, odoo)
    while await drain.run_once():
        pass
    await store.downloader.run_once()
    assert odoo.on_hand[("SKU-1", "S1")] == 13
    assert await available(store) == 13  # hub position 13 now includes it: confirmed
    pending = store.database.read.execute("SELECT pending FROM local_stock").fetchone()[0]
    assert pending == 0


async def test_highest_version_valid_now_wins(
    store: Agent, sqlite_engine: AsyncEngine, clock: Clock
) -> None:
    async with sqlite_engine.begin() as connection:
        revision = await next_revision(connection)
        base = {"sku": "SKU-1", "scope_kind": "store", "scope_code": "S1", "currency": "EUR"}
        await connection.execute(
            insert(prices),
            [
                # v2 starts tomorrow; v3 already ended; both must lose to v1 today
                {
                    **base,
                    "amount": Decimal(3),
                    "version": 2,
                    "revision": revision,
                    "valid_from": clock.now + timedelta(days=1),
                    "valid_to": None,
                },
                {
                    **base,
                    "amount": Decimal(9),
                    "version": 3,
                    "revision": revision,
                    "valid_from": clock.now - timedelta(days=3),
                    "valid_to": clock.now - timedelta(days=2),
                },
            ],
        )
    await store.downloader.run_once()
    async with httpx2.AsyncClient(
        transport=httpx2.ASGITransport(app=store.app), base_url="http://agent"
    ) as pos:
        today = (await pos.get("/v1/products/SKU-1")).json()["price"]
        clock.advance(2 * 86_400)
        later = (await pos.get("/v1/products/SKU-1")).json()["price"]
    assert (today["amount"], today["version"]) == ("2.5000", 1)
    assert (later["amount"], later["version"]) == ("3.0000", 2)


async def test_an_expired_cursor_resyncs_in_full(store: Agent, sqlite_engine: AsyncEngine) -> None:
    from sqlalchemy import delete

    from storelink.db.tables import products
    from storelink.sync import raise_horizon

    async with sqlite_engine.begin() as connection:
        await connection.execute(delete(products).where(products.c.sku == "SKU-1"))
        revision = await next_revision(connection)
        await raise_horizon(connection, revision)
    await store.downloader.run_once()
    rows = store.database.read.execute("SELECT count(*) FROM products").fetchone()[0]
    assert rows == 0  # the pruned product is gone: only a full resync could know that
