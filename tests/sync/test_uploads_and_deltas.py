"""Uploads are durable and idempotent; deltas page by revision without splitting one."""

from __future__ import annotations

import json
from datetime import timedelta
from decimal import Decimal
from uuid import uuid4

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from storelink.bus.tables import outbox
from storelink.errors import CursorExpiredError, NotFoundError, ValidationError
from storelink.model import Payment, PaymentMethod, Sale, SaleLine, utcnow
from storelink.sync import (
    Dataset,
    StoreTransaction,
    TransactionKind,
    next_revision,
    raise_horizon,
    read_delta,
    record_upload,
)
from storelink.sync.contacts import DOWNLOAD_CONTACT_RESOLUTION_S, download_contact_due
from storelink.sync.tables import sync_transactions
from tests.sync.harness import seed, set_position


def sale_transaction(store: str = "S1", sku: str = "SKU-1", quantity: int = 1) -> StoreTransaction:
    uuid = uuid4()
    amount = Decimal("2.50") * quantity
    sale = Sale(
        id=uuid,
        store=store,
        occurred_at=utcnow(),
        currency="EUR",
        lines=[SaleLine(sku=sku, quantity=Decimal(quantity), unit_price=Decimal("2.50"))],
        payments=[Payment(method=PaymentMethod.CARD, amount=amount)],
    )
    return StoreTransaction(uuid=uuid, kind=TransactionKind.SALE, recorded_at=utcnow(), sale=sale)


async def count(engine: AsyncEngine, table: object) -> int:
    async with engine.connect() as connection:
        return int((await connection.execute(select(func.count()).select_from(table))).scalar_one())  # type: ignore[arg-type]


async def test_a_resent_batch_changes_nothing(engine: AsyncEngine) -> None:
    await seed(engine)
    batch = [sale_transaction() for _ in range(3)]
    first = await record_upload(engine, "S1", batch)
    assert first.accepted == [t.uuid for t in batch] and first.duplicates == []
    again = await record_upload(engine, "S1", [*batch, sale_transaction()])
    assert again.duplicates == [t.uuid for t in batch] and len(again.accepted) == 1
    assert await count(engine, sync_transactions) == 4
    async with engine.connect() as connection:
        types = (await connection.execute(select(outbox.c.type))).scalars().all()
    assert sorted(types) == ["storelink.sale.recorded.v1"] * 4


async def test_a_transaction_of_another_store_is_refused_and_nothing_written(
    engine: AsyncEngine,
) -> None:
    await seed(engine, stores_=("S1", "S2"))
    with pytest.raises(ValidationError) as caught:
        await record_upload(engine, "S1", [sale_transaction(), sale_transaction(store="S2")])
    assert caught.value.field == "transactions[1].sale.store"
    assert await count(engine, sync_transactions) == 0
    assert await count(engine, outbox) == 0


async def test_upload_payload_round_trips(engine: AsyncEngine) -> None:
    await seed(engine)
    transaction = sale_transaction(quantity=3)
    await record_upload(engine, "S1", [transaction])
    async with engine.connect() as connection:
        payload = (await connection.execute(select(sync_transactions.c.payload))).scalar_one()
    assert StoreTransaction.model_validate(json.loads(payload)) == transaction


async def test_delta_pages_resume_from_their_cursor_and_never_split_a_revision(
    engine: AsyncEngine,
) -> None:
    skus = [f"SKU-{i}" for i in range(5)]
    first = await seed(engine, skus=skus)
    later = await set_position(engine, "SKU-3", "S1", Decimal(7))
    # 5 positions share the seed revision: a page of 2 must still carry all 5
    page = await read_delta(engine, "S1", Dataset.STOCK, after=0, limit=2)
    assert page.until == first and page.more
    assert sorted(row.sku for row in page.stock) == ["SKU-0", "SKU-1", "SKU-2", "SKU-4"]
    rest = await read_delta(engine, "S1", Dataset.STOCK, after=page.until, limit=2)
    assert rest.until == later and not rest.more
    assert [(row.sku, row.on_hand) for row in rest.stock] == [("SKU-3", Decimal(7))]
    empty = await read_delta(engine, "S1", Dataset.STOCK, after=rest.until)
    assert empty.stock == [] and empty.until == rest.until and not empty.more
    assert rest.location == "S1"


async def test_prices_are_scoped_to_the_store(engine: AsyncEngine) -> None:
    await seed(engine, stores_=("S1", "S2"), skus=["A"])
    page = await read_delta(engine, "S2", Dataset.PRICES, after=0)
    assert [(p.sku, p.scope.code) for p in page.prices] == [("A", "S2")]


async def test_an_expired_cursor_asks_for_a_full_resync(engine: AsyncEngine) -> None:
    revision = await seed(engine)
    await set_position(engine, "SKU-1", "S1", Decimal(1))
    async with engine.begin() as connection:
        await raise_horizon(connection, revision + 1)
    with pytest.raises(CursorExpiredError):
        await read_delta(engine, "S1", Dataset.STOCK, after=revision)
    with pytest.raises(CursorExpiredError):  # a cursor from the future: the hub was reset
        await read_delta(engine, "S1", Dataset.STOCK, after=revision + 100)
    full = await read_delta(engine, "S1", Dataset.STOCK, after=0)
    assert {row.sku for row in full.stock} == {"SKU-1", "SKU-2"}


async def test_unknown_store_is_not_found(engine: AsyncEngine) -> None:
    await seed(engine)
    with pytest.raises(NotFoundError):
        await read_delta(engine, "NOPE", Dataset.PRODUCTS, after=0)


async def test_revisions_commit_in_the_order_handed_out(postgres_url: str) -> None:
    """The second writer waits for the first to commit, so no reader can skip a revision."""
    import asyncio

    from storelink.db import create_engine, upgrade

    engine = create_engine(postgres_url)
    await upgrade(engine)
    try:
        first = await engine.connect()
        await first.begin()
        taken = await next_revision(first)

        async def second() -> int:
            async with engine.begin() as connection:
                return await next_revision(connection)

        waiting = asyncio.create_task(second())
        done, _ = await asyncio.wait([waiting], timeout=0.5)
        assert not done, "a second writer took a revision while the first was uncommitted"
        await first.commit()
        await first.close()
        assert await asyncio.wait_for(waiting, 10) == taken + 1
    finally:
        await engine.dispose()


async def test_download_contacts_are_written_at_most_once_per_resolution(
    sqlite_engine: AsyncEngine, engine: AsyncEngine
) -> None:
    start = utcnow()
    step = timedelta(seconds=DOWNLOAD_CONTACT_RESOLUTION_S)
    assert download_contact_due(sqlite_engine, "S1", start)
    assert not download_contact_due(sqlite_engine, "S1", start + step / 2)
    assert download_contact_due(sqlite_engine, "S2", start + step / 2)  # per store
    assert download_contact_due(engine, "S1", start + step / 2)  # per hub database
    assert download_contact_due(sqlite_engine, "S1", start + step)
