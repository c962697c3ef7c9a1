"""Several real agents + the hub + the Odoo emulator, through an outage.

Both stores sell offline while, in Odoo, a central stock count and a price
change are made. After the hub comes back: Odoo holds each sale exactly once,
each store's stock equals Odoo's on-hand for its location, and every store
shows the new price.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from uuid import uuid4

import httpx2
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from storelink.api.app import create_app
from storelink.api.principal import Role
from storelink.config import Settings
from storelink.db import create_engine
from storelink.db.tables import prices, stock_positions, stores
from storelink.emulator import OdooEmulator, serve_emulator
from storelink.hub import Hub
from storelink.model import (
    Price,
    PriceScope,
    PriceScopeKind,
    Product,
    StockPosition,
    Store,
    utcnow,
)
from storelink.odoo import OdooConnector, open_connector
from tests.edge.agentproc import AgentProcess
from tests.services import free_port
from tests.sync.harness import wait_until

STORES = ("S1", "S2")
SKUS = ("A-1", "B-2")
SALES_PER_STORE = 6


def store_prices(amount: str, version: int) -> list[Price]:
    return [
        Price(
            sku=sku,
            scope=PriceScope(kind=PriceScopeKind.STORE, code=code),
            amount=Decimal(amount),
            currency="USD",  # the emulated company's currency
            version=version,
            valid_from=utcnow() - timedelta(minutes=1),
        )
        for sku in SKUS
        for code in STORES
    ]


async def seed_odoo(odoo: OdooConnector) -> None:
    await odoo.upsert_stores([Store(code=c, name=f"Store {c}", location=c) for c in STORES])
    await odoo.upsert_products(
        [Product(sku=s, name=f"Product {s}", barcode=f"7000{i}") for i, s in enumerate(SKUS)]
    )
    await odoo.upsert_prices(store_prices("2.50", 1))
    await odoo.apply_stock_counts(
        [
            StockPosition(sku=s, location=c, on_hand=Decimal(20), as_of=utcnow())
            for s in SKUS
            for c in STORES
        ]
    )


async def captured(engine: AsyncEngine) -> bool:
    """The hub's change capture has the estate, the prices and the positions."""
    async with engine.connect() as connection:
        have = set((await connection.execute(select(stores.c.code))).scalars())
        price_rows = (await connection.execute(select(func.count()).select_from(prices))).scalar()
        position_rows = (
            await connection.execute(
                select(func.count())
                .select_from(stock_positions)
                .where(stock_positions.c.location.in_(STORES))
            )
        ).scalar()
    return set(STORES) <= have and price_rows == 4 and position_rows == 4


async def run_hub(settings: Settings, stop: asyncio.Event, ready: asyncio.Event) -> None:
    async with Hub(settings) as hub:
        ready.set()
        await hub.run(stop)


async def start_hub(settings: Settings) -> tuple[asyncio.Task[None], asyncio.Event]:
    stop, ready = asyncio.Event(), asyncio.Event()
    task = asyncio.create_task(run_hub(settings, stop, ready))
    await asyncio.wait_for(ready.wait(), 30)
    return task, stop


async def test_offline_stores_and_central_changes_converge(tmp_path: Path) -> None:
    emulator = OdooEmulator(version="17")
    # POS orders move stock at once (17's default moves it when the session closes)
    emulator.call("res.company", "write", [1], {"point_of_sale_update_stock_quantities": "real"})
    async with serve_emulator(emulator) as odoo_url:
        settings = Settings.model_validate(
            {
                "data_dir": tmp_path / "hub",
                "database_url": f"sqlite+aiosqlite:///{(tmp_path / 'hub.db').as_posix()}",
                "api": {"port": free_port()},
                "odoo": {
                    "url": odoo_url,
                    "database": "storelink",
                    "user": "admin",
                    "password": "admin",
                    "poll_interval_s": 0.2,
                },
                "observability": {"log_level": "warning"},
            }
        )
        async with open_connector(settings.odoo) as odoo:
            await seed_odoo(odoo)
        hub_task, stop = await start_hub(settings)
        engine = create_engine(settings.effective_database_url)
        agents: list[AgentProcess] = []
        try:
            await wait_until(lambda: captured(engine), within=30)
            tokens = create_app(settings, engine=engine, migrate=False).state.hub.tokens
            hub_url = f"http://127.0.0.1:{settings.api.port}"
            for code in STORES:
                client = await tokens.add_client(
                    Role.STORE, store=code, rate_per_s=1000, burst=1000
                )
                agent = AgentProcess(code, hub_url, (client.client_id, client.secret), tmp_path)
                agents.append(agent)
                await agent.start()

            # the outage: the hub goes away; both stores keep selling
            stop.set()
            await hub_task
            sold: list[str] = []
            for agent in agents:
                async with httpx2.AsyncClient(base_url=agent.url, timeout=5) as pos:
                    for n in range(SALES_PER_STORE):
                        uuid, quantity = str(uuid4()), 1 + n % 2
                        answer = await pos.post(
                            "/v1/sales",
                            json={
                                "uuid": uuid,
                                "lines": [{"sku": SKUS[n % 2], "quantity": str(quantity)}],
                                "payments": [
                                    {"method": "cash", "amount": str(Decimal("2.50") * quantity)}
                                ],
                            },
                        )
                        assert answer.status_code == 201, answer.text
                        sold.append(uuid)
            # meanwhile in Odoo: a stock count at S1 and a new price everywhere
            async with open_connector(settings.odoo) as odoo:
                await odoo.apply_stock_counts(
                    [StockPosition(sku="A-1", location="S1", on_hand=Decimal(50), as_of=utcnow())]
                )
                await odoo.upsert_prices(store_prices("3.10", 2))

            hub_task, stop = await start_hub(settings)  # the hub is back

            async def converged() -> bool:
                async with open_connector(settings.odoo) as odoo:
                    odoo_stock = {
                        (p.sku, p.location): p.on_hand
                        for p in await odoo.read_stock_positions(list(STORES))
                    }
                for agent in agents:
                    async with httpx2.AsyncClient(base_url=agent.url, timeout=5) as pos:
                        status = (await pos.get("/v1/status")).json()
                        if status["queue_depth"]:
                            return False
                        for sku in SKUS:
                            view = (await pos.get(f"/v1/products/{sku}")).json()
                            if Decimal(view["available"]) != odoo_stock[(sku, agent.store)]:
                                return False
                            if view["price"]["amount"] != "3.1000":
                                return False
                return len(emulator.records("pos.order")) >= len(sold)

            await wait_until(converged, within=60, interval=0.3)
            orders = emulator.records("pos.order")
            assert len(orders) == len(sold)  # each sale exactly once
            async with open_connector(settings.odoo) as odoo:
                final = {
                    (p.sku, p.location): p.on_hand
                    for p in await odoo.read_stock_positions(list(STORES))
                }
            # S1 counted 50 A-1 centrally; its 3 offline A-1 sales (1 each) land after it
            assert final[("A-1", "S1")] == Decimal(47)
            assert final[("B-2", "S2")] == Decimal(20 - 2 * 3)
        finally:
            for agent in agents:
                agent.stop()
            stop.set()
            await hub_task
            await engine.dispose()
