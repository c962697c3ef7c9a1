"""Real agent processes: SIGKILL at random points, and the hub going away and coming back."""

from __future__ import annotations

import asyncio
import random
import sqlite3
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path
from uuid import uuid4

import httpx2
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from storelink.config import Settings
from storelink.sync.tables import sync_transactions
from tests.edge.agentproc import AgentProcess
from tests.services import free_port
from tests.sync.harness import RunningHub, seed, serve_hub, wait_until


def sale_body(uuid: str) -> dict[str, object]:
    return {
        "uuid": uuid,
        "lines": [{"sku": "SKU-1", "quantity": "1"}],
        "payments": [{"method": "card", "amount": "2.50"}],
    }


async def hub_uuids(engine: AsyncEngine, store: str) -> list[str]:
    async with engine.connect() as connection:
        rows = await connection.execute(
            select(sync_transactions.c.uuid)
            .where(sync_transactions.c.store == store)
            .order_by(sync_transactions.c.id)
        )
        return list(rows.scalars())


def queued_uuids(database: Path) -> list[str]:
    with sqlite3.connect(database) as connection:
        return [row[0] for row in connection.execute("SELECT uuid FROM upload_queue ORDER BY seq")]


@pytest.fixture
async def hub(settings: Settings, sqlite_engine: AsyncEngine) -> AsyncIterator[RunningHub]:
    await seed(sqlite_engine, skus=["SKU-1"], on_hand=Decimal(1000))
    async with serve_hub(settings, sqlite_engine) as running:
        yield running


async def till(url: str, answered: list[str], stop: asyncio.Event) -> None:
    """Post sales until ``stop``; keep the uuids answered 201. Errors are the agent dying."""
    async with httpx2.AsyncClient(base_url=url, timeout=5) as client:
        while not stop.is_set():
            uuid = str(uuid4())
            try:
                response = await client.post("/v1/sales", json=sale_body(uuid))
            except httpx2.TransportError:
                return
            assert response.status_code == 201, response.text
            answered.append(uuid)


async def test_sigkill_while_selling_and_uploading_loses_and_doubles_nothing(
    hub: RunningHub, sqlite_engine: AsyncEngine, tmp_path: Path
) -> None:
    rng = random.Random(5)
    agent = AgentProcess(
        "S1",
        hub.url,
        await hub.store_client("S1"),
        tmp_path,
        STORELINK_AGENT__UPLOAD_BATCH_SIZE="20",
    )
    answered: list[str] = []
    try:
        for _ in range(3):  # each cycle restarts a real process: a few seconds each
            await agent.start()
            stop = asyncio.Event()
            tills = [asyncio.create_task(till(agent.url, answered, stop)) for _ in range(3)]
            await asyncio.sleep(rng.uniform(0.2, 1.2))  # a random point in the run
            agent.kill()
            stop.set()
            await asyncio.gather(*tills)
            # right after the crash: every answered sale is in the queue or at the hub
            held = set(queued_uuids(agent.database)) | set(await hub_uuids(sqlite_engine, "S1"))
            assert set(answered) <= held
        await agent.start()

        async def drained() -> bool:
            with sqlite3.connect(agent.database) as connection:
                row = connection.execute(
                    "SELECT count(*) FROM upload_queue WHERE sent_at IS NULL"
                ).fetchone()
            return int(row[0]) == 0

        await wait_until(drained, within=30)
    finally:
        agent.stop()
    at_hub = await hub_uuids(sqlite_engine, "S1")
    assert len(answered) > 20
    assert set(answered) <= set(at_hub)
    assert len(at_hub) == len(set(at_hub))
    assert set(at_hub) == set(queued_uuids(agent.database))


async def test_hub_down_the_till_keeps_selling_and_the_backlog_drains_oldest_first(
    settings: Settings, sqlite_engine: AsyncEngine, tmp_path: Path
) -> None:
    await seed(sqlite_engine, skus=["SKU-1"], on_hand=Decimal(100))
    port = free_port()
    async with serve_hub(settings, sqlite_engine, port=port) as hub:
        agent = AgentProcess("S1", hub.url, await hub.store_client("S1"), tmp_path)
        await agent.start()
    try:
        posted: list[str] = []
        async with httpx2.AsyncClient(base_url=agent.url, timeout=5) as pos:
            for _ in range(25):  # the hub is down: every sale still answers 201
                uuid = str(uuid4())
                assert (await pos.post("/v1/sales", json=sale_body(uuid))).status_code == 201
                posted.append(uuid)
            assert (await pos.get("/v1/products/SKU-1")).json()["available"] == "75.0000"

            async def offline() -> bool:
                status = (await pos.get("/v1/status")).json()
                return status["online"] is False and status["queue_depth"] == 25

            await wait_until(offline, within=10)
            async with serve_hub(settings, sqlite_engine, port=port):

                async def drained() -> bool:
                    status = (await pos.get("/v1/status")).json()
                    return status["queue_depth"] == 0 and status["online"] is True

                await wait_until(drained, within=30)
            status = (await pos.get("/v1/status")).json()
        assert status["oldest_unsent_age_s"] is None
        assert all(status["last_sync"].values())
        assert await hub_uuids(sqlite_engine, "S1") == posted  # oldest first
    finally:
        agent.stop()
