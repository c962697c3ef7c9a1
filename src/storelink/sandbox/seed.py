"""Seeding a small simulated estate into an embedded hub database."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from sqlalchemy import func, insert, select

from storelink.bus.outbox import enqueue
from storelink.bus.tables import outbox
from storelink.db import create_engine, upgrade
from storelink.db import tables as t
from storelink.model import (
    Event,
    EventType,
    Price,
    PriceScope,
    PriceScopeKind,
    Product,
    Store,
    stock_key,
    utcnow,
)


async def seed_estate(data_dir: Path, *, stores: int, products: int) -> dict[str, int]:
    """Create ``stores`` stores and ``products`` products with prices and stock; return counts."""
    engine = create_engine(f"sqlite+aiosqlite:///{(data_dir / 'hub.db').as_posix()}")
    try:
        await upgrade(engine)
        now = utcnow()
        estate = [
            Store(code=f"S{i:03d}", name=f"Store {i}", location=f"S{i:03d}-STOCK")
            for i in range(1, stores + 1)
        ]
        catalog = [
            Product(sku=f"SKU-{i:05d}", name=f"Product {i}", barcode=f"20{i:010d}")
            for i in range(1, products + 1)
        ]
        async with engine.begin() as connection:
            for table in (t.stock_positions, t.prices, t.products, t.locations, t.stores, outbox):
                await connection.execute(table.delete())
            await connection.execute(
                insert(t.stores), [{**s.model_dump(), "updated_at": now} for s in estate]
            )
            await connection.execute(
                insert(t.locations),
                [
                    {"code": s.location, "name": s.name, "kind": "store", "store": s.code}
                    for s in estate
                ],
            )
            await connection.execute(
                insert(t.products),
                [{**p.model_dump(), "revision": 1, "updated_at": now} for p in catalog],
            )
            prices = [
                Price(
                    sku=p.sku,
                    scope=PriceScope(kind=PriceScopeKind.PRICELIST, code="LIST"),
                    amount=Decimal(100 + i) / 20,
                    currency="EUR",
                    version=1,
                    valid_from=now,
                )
                for i, p in enumerate(catalog)
            ]
            await connection.execute(
                insert(t.prices),
                [
                    {
                        "sku": p.sku,
                        "scope_kind": p.scope.kind.value,
                        "scope_code": p.scope.code,
                        "amount": p.amount,
                        "currency": p.currency,
                        "version": p.version,
                        "valid_from": p.valid_from,
                        "valid_to": None,
                        "revision": 1,
                    }
                    for p in prices
                ],
            )
            await connection.execute(
                insert(t.stock_positions),
                [
                    {
                        "sku": p.sku,
                        "location": s.location,
                        "on_hand": Decimal(20),
                        "reserved": Decimal(0),
                        "as_of": now,
                        "revision": 1,
                    }
                    for s in estate
                    for p in catalog
                ],
            )
            await enqueue(
                connection,
                [
                    Event.of(
                        EventType.PRICE_CHANGED,
                        p,
                        source="/sandbox",
                        partitionkey=stock_key(p.sku, p.scope.code),
                    )
                    for p in prices
                ],
            )
        async with engine.connect() as connection:
            counts = {
                "stores": t.stores,
                "products": t.products,
                "prices": t.prices,
                "stock positions": t.stock_positions,
                "events in outbox": outbox,
            }
            return {
                name: int(
                    (await connection.execute(select(func.count()).select_from(table))).scalar_one()
                )
                for name, table in counts.items()
            }
    finally:
        await engine.dispose()
