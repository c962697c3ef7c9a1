"""Two drains ("two hub workers") on one PostgreSQL database against one Odoo emulator:
they share the stores, and a drain whose store lease was taken over while it was paused
inside its Odoo write is fenced — its marks do not commit and it sends nothing more."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any
from uuid import UUID

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from storelink.db import create_engine, upgrade
from storelink.db.leases import LeaseStore
from storelink.model import Product, Return, Sale, StockMovement, StockPosition, Store, utcnow
from storelink.odoo import OdooConnector, open_connector
from storelink.sync import Drain, DrainPolicy, StoreTransaction, record_upload
from storelink.sync.connector_writer import ConnectorWriter
from storelink.sync.store_leases import FENCED, StoreLeases
from storelink.sync.tables import sync_transactions
from storelink.sync.writer import WriteOutcome
from tests.db.test_leases import FakeClock
from tests.odoo.conftest import Emulated, emulator_module
from tests.sync.harness import seed, wait_until
from tests.sync.test_drain import count_transaction
from tests.sync.test_uploads_and_deltas import sale_transaction

pytestmark = pytest.mark.postgres

STORES = ("S1", "S2", "S3", "S4")
SKUS = ("SKU-1", "SKU-2")
TTL = 10.0


@pytest.fixture
async def pg_engine(postgres_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(postgres_url)
    await upgrade(engine)
    await seed(engine, stores_=STORES, skus=SKUS)
    try:
        yield engine
    finally:
        await engine.dispose()


@pytest.fixture
async def odoo() -> AsyncIterator[Emulated]:
    """An Odoo 17 emulator with the estate; POS sales move stock at once."""
    module = emulator_module()
    emu = module.OdooEmulator(version="17")
    async with module.serve_emulator(emu) as url:
        emulated = Emulated(emu, url, "17")
        emu.call("res.company", "write", [1], {"point_of_sale_update_stock_quantities": "real"})
        async with open_connector(emulated.settings()) as connector:
            await connector.upsert_stores(
                [Store(code=code, name=f"Store {code}", location=code) for code in STORES]
            )
            await connector.upsert_products([Product(sku=sku, name=sku) for sku in SKUS])
            await connector.apply_stock_counts(
                [
                    StockPosition(sku=sku, location=code, on_hand=Decimal(100), as_of=utcnow())
                    for sku in SKUS
                    for code in STORES
                ]
            )
        yield emulated


@dataclass
class SpyWriter:
    """A worker's line to Odoo: records what it sent; ``gate`` (when set up) holds the
    answer of its next sales write after Odoo has the sales — a worker paused mid-write."""

    inner: ConnectorWriter
    sent: list[UUID] = field(default_factory=list)
    counts_sent: list[UUID] = field(default_factory=list)
    gate: asyncio.Event | None = None
    paused: asyncio.Event = field(default_factory=asyncio.Event)

    async def record_sales(self, sales: Sequence[Sale]) -> list[WriteOutcome]:
        self.sent += [sale.id for sale in sales]
        outcomes = await self.inner.record_sales(sales)
        if self.gate is not None:
            gate, self.gate = self.gate, None
            self.paused.set()
            await gate.wait()
        return outcomes

    async def record_returns(self, returns: Sequence[Return]) -> list[WriteOutcome]:
        return await self.inner.record_returns(returns)

    async def apply_counts(
        self, counts: Sequence[tuple[UUID, StockPosition]]
    ) -> list[WriteOutcome]:
        self.counts_sent += [uuid for uuid, _ in counts]
        return await self.inner.apply_counts(counts)

    async def apply_adjustments(
        self, movements: Sequence[tuple[UUID, StockMovement]]
    ) -> list[WriteOutcome]:
        return await self.inner.apply_adjustments(movements)

    async def read_positions(self, keys: Sequence[tuple[str, str]]) -> list[StockPosition]:
        return await self.inner.read_positions(keys)


@dataclass
class Worker:
    drain: Drain
    writer: SpyWriter


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(now=utcnow())


@pytest.fixture
async def workers(
    pg_engine: AsyncEngine, odoo: Emulated, clock: FakeClock
) -> AsyncIterator[list[Worker]]:
    """Two drains, each with its own Odoo connection and worker id, on one clock."""
    async with open_connector(odoo.settings()) as one, open_connector(odoo.settings()) as two:
        yield [
            _worker(pg_engine, connector, name, clock)
            for connector, name in ((one, "w1"), (two, "w2"))
        ]


def _worker(engine: AsyncEngine, connector: OdooConnector, name: str, clock: FakeClock) -> Worker:
    writer = SpyWriter(ConnectorWriter(connector))
    leases = StoreLeases(LeaseStore(engine, clock=clock), name, ttl_s=TTL)
    drain = Drain(engine, writer, policy=DrainPolicy(initial_batch=4, grow=0), leases=leases)
    return Worker(drain, writer)


async def marks(engine: AsyncEngine) -> dict[str, tuple[str, int]]:
    """uuid -> (status, attempts) of every uploaded transaction."""
    t = sync_transactions
    async with engine.connect() as connection:
        rows = await connection.execute(select(t.c.uuid, t.c.status, t.c.attempts))
        return {row.uuid: (row.status, row.attempts) for row in rows}


def pos_references(odoo: Emulated) -> list[str]:
    return [order["pos_reference"] for order in odoo.emu.records("pos.order")]


def fenced(stage: str) -> float:
    value: Any = FENCED.labels(stage)._value.get()  # prometheus has no getter
    return float(value)


async def test_two_drains_share_the_stores_and_send_each_transaction_once(
    pg_engine: AsyncEngine, odoo: Emulated, workers: list[Worker]
) -> None:
    uploaded: list[StoreTransaction] = []
    store_of: dict[UUID, str] = {}
    for code in STORES:
        batch = [sale_transaction(store=code) for _ in range(6)]
        await record_upload(pg_engine, code, batch)
        uploaded += batch
        store_of.update((t.uuid, code) for t in batch)
    for worker in workers:  # both are live before either takes a store
        await worker.drain.store_leases.rebalance(set())
    stop = asyncio.Event()
    running = [asyncio.create_task(worker.drain.run(stop)) for worker in workers]
    try:

        async def applied() -> bool:
            return {s for s, _ in (await marks(pg_engine)).values()} == {"written"}

        await wait_until(applied, within=30)
    finally:
        stop.set()
        await asyncio.gather(*running)
    one, two = (set(worker.writer.sent) for worker in workers)
    assert one and two, "both workers must drain"
    assert not one & two, f"{len(one & two)} transactions were sent by both workers"
    assert one | two == {t.uuid for t in uploaded}
    references = pos_references(odoo)
    assert len(references) == len(set(references)) == len(uploaded)
    # each store went to one worker only
    stores_of = [{store_of[uuid] for uuid in sent} for sent in (one, two)]
    assert not stores_of[0] & stores_of[1] and len(stores_of[0]) == len(stores_of[1]) == 2
    # a clean stop gives every lease up
    assert all(not worker.drain.store_leases.tokens for worker in workers)
    assert await LeaseStore(pg_engine).live("drain:") == []


async def test_a_drain_paused_in_its_odoo_write_past_its_lease_is_fenced(
    pg_engine: AsyncEngine, odoo: Emulated, workers: list[Worker], clock: FakeClock
) -> None:
    paused, taker = workers
    # one batch, three runs: S2's sales, then S1's count (SKU-1 on hand is 50 from there
    # on), then S1's sale
    s2_sales = [sale_transaction(store="S2") for _ in range(2)]
    await record_upload(pg_engine, "S2", s2_sales)
    s1_count, s1_sale = count_transaction("SKU-1", 50), sale_transaction(store="S1")
    await record_upload(pg_engine, "S1", [s1_count, s1_sale])
    gate = paused.writer.gate = asyncio.Event()
    before = fenced("write")

    # the first worker, alone, takes both stores, sends S2's sales and hangs for the answer
    stuck = asyncio.create_task(paused.drain.run_once())
    await wait_until(paused.writer.paused.is_set)
    assert paused.drain.store_leases.stores == {"S1", "S2"}
    # ... past its TTL: the other worker takes both stores over and writes all of it
    clock.advance(TTL + 1)

    async def all_written() -> bool:
        await taker.drain.run_once()
        return {s for s, _ in (await marks(pg_engine)).values()} == {"written"}

    await wait_until(all_written, within=30)
    assert taker.drain.store_leases.stores == {"S1", "S2"}

    # the first worker wakes up: its marks must not commit (the fence in the marking
    # transaction), and it must not send S1's count, now stale (the look before a write)
    gate.set()
    await asyncio.wait_for(stuck, 30)
    assert await marks(pg_engine) == {
        str(t.uuid): ("written", 1) for t in [*s2_sales, s1_count, s1_sale]
    }, "a fenced worker's marks committed (a second attempt)"
    assert paused.writer.counts_sent == [], "a fenced worker re-applied an old count"
    assert paused.writer.sent == [t.uuid for t in s2_sales]
    assert paused.drain.store_leases.stores == set()
    # abandoned: S2's two sent but not marked, and S1's two, never sent
    assert fenced("write") - before == 4
    references = pos_references(odoo)
    assert len(references) == len(set(references)) == 3
    async with open_connector(odoo.settings()) as connector:
        on_hand = {p.sku: p.on_hand for p in await connector.read_stock_positions(["S1"])}
    assert on_hand["SKU-1"] == Decimal(49)  # the count, then the sale: in that order
