"""The drain writes uploaded transactions to Odoo in order, in batches, and confirms them."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from storelink.bus.tables import outbox
from storelink.errors import OdooTransportError
from storelink.model import StockPosition, utcnow
from storelink.sync import (
    Dataset,
    Drain,
    DrainPolicy,
    StoreTransaction,
    TransactionKind,
    read_delta,
    record_upload,
)
from storelink.sync.tables import sync_transactions
from tests.sync.harness import FakeOdoo, seed
from tests.sync.test_uploads_and_deltas import sale_transaction


def count_transaction(sku: str, on_hand: int) -> StoreTransaction:
    from uuid import uuid4

    position = StockPosition(sku=sku, location="S1", on_hand=Decimal(on_hand), as_of=utcnow())
    return StoreTransaction(
        uuid=uuid4(), kind=TransactionKind.COUNT, recorded_at=utcnow(), count=position
    )


async def statuses(engine: AsyncEngine) -> list[tuple[str, int | None]]:
    async with engine.connect() as connection:
        rows = await connection.execute(
            select(sync_transactions.c.status, sync_transactions.c.applied_revision).order_by(
                sync_transactions.c.id
            )
        )
        return [(row.status, row.applied_revision) for row in rows]


async def test_drain_writes_in_order_confirms_and_publishes(engine: AsyncEngine) -> None:
    await seed(engine)
    odoo = FakeOdoo(on_hand={("SKU-1", "S1"): Decimal(10), ("SKU-2", "S1"): Decimal(10)})
    sales = [sale_transaction(quantity=2) for _ in range(3)]
    # sales, then a count, then one more sale: Odoo must see them in exactly this order
    batch = [*sales, count_transaction("SKU-1", 50), sale_transaction(quantity=1)]
    await record_upload(engine, "S1", batch)
    drain = Drain(engine, odoo, policy=DrainPolicy(initial_batch=100))
    moved = await drain.run_once()
    assert moved == 10  # 5 written + 5 applied
    assert [name for name, _ in odoo.calls] == ["sales", "counts", "sales", "read"]
    assert odoo.on_hand[("SKU-1", "S1")] == Decimal(49)
    page = await read_delta(engine, "S1", Dataset.STOCK, after=0)
    assert {row.sku: row.on_hand for row in page.stock}["SKU-1"] == Decimal(49)
    assert {c.uuid for c in page.confirmations} == {t.uuid for t in batch}
    revisions = {c.revision for c in page.confirmations}
    assert len(revisions) == 1 and revisions == {
        row.revision for row in page.stock if row.sku == "SKU-1"
    }
    assert await drain.run_once() == 0
    async with engine.connect() as connection:
        events = [
            json.loads(e) for e in (await connection.execute(select(outbox.c.envelope))).scalars()
        ]
    moved_events = [e for e in events if e["type"] == "storelink.stock.moved.v1"]
    assert sorted(Decimal(e["data"]["quantity"]) for e in moved_events) == [
        Decimal(-2),
        Decimal(-2),
        Decimal(-2),
        Decimal(-1),
    ]
    assert any(e["type"] == "storelink.stock.level_changed.v1" for e in events)


async def test_odoo_down_keeps_order_halves_the_batch_and_resumes(
    engine: AsyncEngine,
) -> None:
    await seed(engine)
    odoo = FakeOdoo(on_hand={("SKU-1", "S1"): Decimal(100)})
    await record_upload(engine, "S1", [sale_transaction() for _ in range(8)])
    drain = Drain(engine, odoo, policy=DrainPolicy(initial_batch=4, min_batch=1, grow=4))
    odoo.fail_next = 1
    with pytest.raises(OdooTransportError):
        await drain.run_once()
    assert drain.batch_size == 2
    assert [s for s, _ in await statuses(engine)] == ["recorded"] * 8
    assert await drain.run_once() == 4  # 2 written + 2 applied
    assert drain.batch_size == 6
    while await drain.run_once():
        pass
    assert [s for s, _ in await statuses(engine)] == ["written"] * 8
    assert len(odoo.sales) == 8
    assert odoo.on_hand[("SKU-1", "S1")] == Decimal(92)


async def test_a_refused_sale_is_kept_visible_and_does_not_block_others(
    engine: AsyncEngine,
) -> None:
    await seed(engine)
    odoo = FakeOdoo(on_hand={("SKU-1", "S1"): Decimal(10)})
    batch = [sale_transaction() for _ in range(3)]
    odoo.refuse.add(batch[1].uuid)
    await record_upload(engine, "S1", batch)
    await Drain(engine, odoo).run_once()
    assert [s for s, _ in await statuses(engine)] == ["written", "failed", "written"]
    async with engine.connect() as connection:
        error = (
            await connection.execute(
                select(sync_transactions.c.last_error).where(
                    sync_transactions.c.uuid == str(batch[1].uuid)
                )
            )
        ).scalar_one()
    assert "refused" in error


async def test_a_crash_between_odoo_and_the_mark_does_not_double_the_sale(
    engine: AsyncEngine,
) -> None:
    await seed(engine)
    odoo = FakeOdoo(on_hand={("SKU-1", "S1"): Decimal(10)})
    batch = [sale_transaction() for _ in range(2)]
    await record_upload(engine, "S1", batch)
    # Odoo already has them (the drain died before marking): the rewrite is a no-op there
    await odoo.record_sales([t.sale for t in batch if t.sale])
    await Drain(engine, odoo).run_once()
    assert odoo.on_hand[("SKU-1", "S1")] == Decimal(8)
