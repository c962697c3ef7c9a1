"""Odoo's native webhooks as hints: install the automations, receive them, poll at once."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path

import httpx2
import pytest
import uvicorn
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from storelink.api.app import create_app
from storelink.bus.tables import outbox
from storelink.config import Settings
from storelink.model import EventType
from storelink.odoo import ChangeCapture, open_connector
from storelink.odoo.automations import install_webhooks
from storelink.odoo.feeds import ProductFeed
from tests.odoo.conftest import PRODUCTS, Emulated, emulator_module
from tests.services import free_port

TOKEN = "s3cret-hook-token"


class _Server(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


@contextlib.asynccontextmanager
async def hub(tmp_path: Path, engine: AsyncEngine) -> AsyncIterator[str]:
    """The hub app on 127.0.0.1 with the Odoo webhook token configured."""
    settings = Settings(
        data_dir=tmp_path / "data",
        database_url=str(engine.url),
        odoo={"webhook_token": TOKEN},  # type: ignore[arg-type]
    )
    port = free_port()
    server = _Server(
        uvicorn.Config(
            create_app(settings, engine=engine),
            host="127.0.0.1",
            port=port,
            log_config=None,
            access_log=False,
            lifespan="on",
        )
    )
    task = asyncio.create_task(server.serve())
    try:
        await wait_for(lambda: _started(server))
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task


async def wait_for(predicate: Callable[[], Awaitable[bool]], within: float = 10.0) -> None:
    """Re-check ``predicate`` until it holds; fail after ``within`` seconds."""
    async with asyncio.timeout(within):
        while True:
            if await predicate():
                return
            await asyncio.sleep(0.02)


async def _started(server: uvicorn.Server) -> bool:
    return bool(server.started)


async def renamed_events(engine: AsyncEngine) -> list[str]:
    async with engine.connect() as connection:
        rows = (await connection.execute(select(outbox.c.envelope))).all()
    found = [json.loads(r.envelope) for r in rows]
    return [e["data"]["name"] for e in found if e["type"] == EventType.PRODUCT_CHANGED.value]


async def test_a_webhook_makes_capture_poll_at_once(
    odoo17: Emulated, sqlite_engine: AsyncEngine, tmp_path: Path
) -> None:
    async with hub(tmp_path, sqlite_engine) as hub_url, open_connector(odoo17.settings()) as odoo:
        installed = await install_webhooks(odoo.client, hub_url, TOKEN, ["product.product"])
        again = await install_webhooks(odoo.client, hub_url, TOKEN, ["product.product"])
        assert [i.created for i in installed] == [True] and [i.created for i in again] == [False]
        await odoo.upsert_products(PRODUCTS)
        capture = ChangeCapture(
            sqlite_engine, odoo, feeds=[ProductFeed()], interval_s=600, settle_s=1
        )
        stop = asyncio.Event()
        running = asyncio.create_task(capture.run(stop))
        try:
            await wait_for(lambda: _count(sqlite_engine, len(PRODUCTS)))
            # the interval is ten minutes: only the webhook can make this show up now
            await odoo.upsert_products([PRODUCTS[0].model_copy(update={"name": "Renamed cup"})])
            await wait_for(lambda: _has(sqlite_engine, "Renamed cup"))
        finally:
            stop.set()
            await running
    deliveries = odoo17.emu.webhooks.deliveries
    assert any(
        d.url == f"{hub_url}/v1/odoo/webhook/{TOKEN}" and d.status == 202 for d in deliveries
    )


async def _count(engine: AsyncEngine, n: int) -> bool:
    return len(await renamed_events(engine)) >= n


async def _has(engine: AsyncEngine, name: str) -> bool:
    return name in await renamed_events(engine)


async def test_a_wrong_token_is_not_found(sqlite_engine: AsyncEngine, tmp_path: Path) -> None:
    async with hub(tmp_path, sqlite_engine) as hub_url, httpx2.AsyncClient() as client:
        wrong = await client.post(f"{hub_url}/v1/odoo/webhook/guess", json={"_model": "x"})
        right = await client.post(
            f"{hub_url}/v1/odoo/webhook/{TOKEN}", json={"_model": "product.product", "_id": 1}
        )
    assert wrong.status_code == 404
    assert wrong.headers["content-type"].startswith("application/problem+json")
    assert right.status_code == 202 and right.json()["accepted"] is True


@pytest.mark.parametrize("version", ["16"])
async def test_odoo_16_has_no_webhook_actions(version: str) -> None:
    module = emulator_module()
    emu = module.OdooEmulator(version=version)
    async with module.serve_emulator(emu) as url:
        settings = Emulated(emu, url, version).settings()
        async with open_connector(settings) as odoo:
            assert await install_webhooks(odoo.client, "http://127.0.0.1:1", TOKEN) == []
