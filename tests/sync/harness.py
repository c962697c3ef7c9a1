"""A real hub on 127.0.0.1 (uvicorn), seeded read model, store credentials, a fake Odoo writer."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from uuid import UUID

import uvicorn
from fastapi import FastAPI
from sqlalchemy import insert, update
from sqlalchemy.ext.asyncio import AsyncEngine

from storelink.api.app import create_app
from storelink.api.principal import Role
from storelink.config import Settings
from storelink.db.tables import prices, products, stock_positions, stores
from storelink.errors import OdooTransportError
from storelink.model import Return, Sale, StockMovement, StockPosition, utcnow
from storelink.sync.revisions import next_revision
from storelink.sync.writer import WriteOutcome
from tests.services import free_port


class _Server(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


@dataclass
class RunningHub:
    url: str
    port: int
    app: FastAPI

    async def store_client(self, store: str) -> tuple[str, str]:
        client = await self.app.state.hub.tokens.add_client(
            Role.STORE, store=store, rate_per_s=10_000, burst=10_000
        )
        return client.client_id, client.secret


async def wait_until(predicate: object, within: float = 20.0, interval: float = 0.02) -> None:
    """Poll ``predicate`` (sync or async callable) until true or fail after ``within`` seconds."""
    deadline = asyncio.get_running_loop().time() + within
    while True:
        value = predicate()  # type: ignore[operator]
        if asyncio.iscoroutine(value):
            value = await value
        if value:
            return
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(interval)


@contextlib.asynccontextmanager
async def serve_hub(
    settings: Settings, engine: AsyncEngine, *, port: int | None = None
) -> AsyncIterator[RunningHub]:
    app = create_app(settings, engine=engine)
    port = port or free_port()
    server = _Server(
        uvicorn.Config(
            app, host="127.0.0.1", port=port, log_config=None, access_log=False, lifespan="on"
        )
    )
    task = asyncio.create_task(server.serve())
    await wait_until(lambda: server.started or task.done())
    if task.done():
        task.result()
    try:
        yield RunningHub(url=f"http://127.0.0.1:{port}", port=port, app=app)
    finally:
        server.should_exit = True
        await task


async def seed(
    engine: AsyncEngine,
    *,
    stores_: Sequence[str] = ("S1",),
    skus: Sequence[str] = ("SKU-1", "SKU-2"),
    on_hand: Decimal = Decimal(10),
    price: Decimal = Decimal("2.50"),
) -> int:
    """Stores (location = code), products with barcodes, store prices v1, positions."""
    now = utcnow()
    async with engine.begin() as connection:
        revision = await next_revision(connection)
        await connection.execute(
            insert(stores),
            [
                {
                    "code": code,
                    "name": f"Store {code}",
                    "location": code,
                    "currency": "EUR",
                    "timezone": "UTC",
                    "pricelist": None,
                    "active": True,
                    "updated_at": now,
                }
                for code in stores_
            ],
        )
        await connection.execute(
            insert(products),
            [
                {
                    "sku": sku,
                    "name": f"Product {sku}",
                    "barcode": f"400{index:05d}",
                    "uom": "Units",
                    "tax_class": "standard",
                    "category": None,
                    "active": True,
                    "revision": revision,
                    "updated_at": now,
                }
                for index, sku in enumerate(skus)
            ],
        )
        await connection.execute(
            insert(prices),
            [
                {
                    "sku": sku,
                    "scope_kind": "store",
                    "scope_code": code,
                    "amount": price,
                    "currency": "EUR",
                    "version": 1,
                    "valid_from": now - timedelta(days=1),
                    "valid_to": None,
                    "revision": revision,
                }
                for sku in skus
                for code in stores_
            ],
        )
        await connection.execute(
            insert(stock_positions),
            [
                {
                    "sku": sku,
                    "location": code,
                    "on_hand": on_hand,
                    "reserved": Decimal(0),
                    "as_of": now,
                    "revision": revision,
                }
                for sku in skus
                for code in stores_
            ],
        )
    return revision


async def set_position(engine: AsyncEngine, sku: str, location: str, on_hand: Decimal) -> int:
    async with engine.begin() as connection:
        revision = await next_revision(connection)
        await connection.execute(
            update(stock_positions)
            .where(stock_positions.c.sku == sku, stock_positions.c.location == location)
            .values(on_hand=on_hand, as_of=utcnow(), revision=revision)
        )
    return revision


@dataclass
class FakeOdoo:
    """An in-memory Odoo behind the :class:`OdooWriter` seam (idempotent by store + uuid)."""

    on_hand: dict[tuple[str, str], Decimal] = field(default_factory=dict)
    sales: dict[tuple[str, UUID], Sale] = field(default_factory=dict)
    returns: dict[tuple[str, UUID], Return] = field(default_factory=dict)
    applied: set[UUID] = field(default_factory=set)
    calls: list[tuple[str, int]] = field(default_factory=list)
    fail_next: int = 0
    refuse: set[UUID] = field(default_factory=set)

    def _call(self, name: str, size: int) -> None:
        self.calls.append((name, size))
        if self.fail_next:
            self.fail_next -= 1
            raise OdooTransportError("odoo is down (fake)")

    async def record_sales(self, sales: Sequence[Sale]) -> list[WriteOutcome]:
        self._call("sales", len(sales))
        out = []
        for sale in sales:
            if sale.id in self.refuse:
                out.append(WriteOutcome(sale.id, "UserError: refused"))
                continue
            if (sale.store, sale.id) not in self.sales:
                self.sales[(sale.store, sale.id)] = sale
                for line in sale.lines:
                    key = (line.sku, sale.store)
                    self.on_hand[key] = self.on_hand.get(key, Decimal(0)) - line.quantity
            out.append(WriteOutcome(sale.id))
        return out

    async def record_returns(self, returns: Sequence[Return]) -> list[WriteOutcome]:
        self._call("returns", len(returns))
        for ret in returns:
            if (ret.store, ret.id) not in self.returns:
                self.returns[(ret.store, ret.id)] = ret
                for line in ret.lines:
                    if line.restock:
                        key = (line.sku, ret.store)
                        self.on_hand[key] = self.on_hand.get(key, Decimal(0)) + line.quantity
        return [WriteOutcome(ret.id) for ret in returns]

    async def apply_counts(
        self, counts: Sequence[tuple[UUID, StockPosition]]
    ) -> list[WriteOutcome]:
        self._call("counts", len(counts))
        for uuid, count in counts:
            if uuid not in self.applied:
                self.applied.add(uuid)
                self.on_hand[(count.sku, count.location)] = count.on_hand
        return [WriteOutcome(uuid) for uuid, _ in counts]

    async def apply_adjustments(
        self, movements: Sequence[tuple[UUID, StockMovement]]
    ) -> list[WriteOutcome]:
        self._call("adjustments", len(movements))
        for uuid, movement in movements:
            if uuid not in self.applied:
                self.applied.add(uuid)
                key = (movement.sku, movement.location)
                self.on_hand[key] = self.on_hand.get(key, Decimal(0)) + movement.quantity
        return [WriteOutcome(uuid) for uuid, _ in movements]

    async def read_positions(self, keys: Sequence[tuple[str, str]]) -> list[StockPosition]:
        self._call("read", len(keys))
        now: datetime = utcnow()
        return [
            StockPosition(sku=sku, location=loc, on_hand=self.on_hand[(sku, loc)], as_of=now)
            for sku, loc in keys
            if (sku, loc) in self.on_hand
        ]
