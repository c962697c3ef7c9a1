"""A small read model for API tests: two stores, a channel price, stock, a product."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncEngine

from storelink.db.tables import locations, prices, products, stock_positions, stores

STORES = ("S001", "S002")
SKU = "SKU-1"
BARCODE = "4006381333931"


async def seed_read_model(engine: AsyncEngine, now: datetime, *, products_count: int = 5) -> None:
    async with engine.begin() as connection:
        await connection.execute(
            insert(stores),
            [
                {
                    "code": code,
                    "name": f"Store {code}",
                    "location": f"L-{code}",
                    "currency": "EUR",
                    "timezone": "Europe/Berlin",
                    "pricelist": "retail",
                    "active": True,
                    "updated_at": now,
                }
                for code in STORES
            ],
        )
        await connection.execute(
            insert(locations),
            [{"code": f"L-{code}", "name": code, "kind": "store", "store": code} for code in STORES]
            + [{"code": "WH", "name": "Warehouse", "kind": "warehouse", "store": None}],
        )
        await connection.execute(
            insert(products),
            [
                {
                    "sku": SKU if i == 0 else f"SKU-{i + 1}",
                    "name": f"Product {i}",
                    "barcode": BARCODE if i == 0 else f"99{i:08d}",
                    "uom": "Units",
                    "tax_class": "standard",
                    "category": "food" if i % 2 == 0 else "toys",
                    "active": True,
                    "revision": i + 1,
                    "updated_at": now,
                }
                for i in range(products_count)
            ],
        )
        base = {"sku": SKU, "currency": "EUR", "valid_to": None, "revision": 1}
        await connection.execute(
            insert(prices),
            [
                {
                    **base,
                    "scope_kind": "pricelist",
                    "scope_code": "retail",
                    "amount": Decimal("9.99"),
                    "version": 1,
                    "valid_from": now - timedelta(days=30),
                },
                {
                    **base,
                    "scope_kind": "store",
                    "scope_code": "S002",
                    "amount": Decimal("8.50"),
                    "version": 1,
                    "valid_from": now - timedelta(days=1),
                },
                {
                    **base,
                    "scope_kind": "store",
                    "scope_code": "S002",
                    "amount": Decimal("7.25"),
                    "version": 2,
                    "valid_from": now + timedelta(days=1),
                },
                {
                    **base,
                    "scope_kind": "channel",
                    "scope_code": "web",
                    "amount": Decimal("10.49"),
                    "version": 1,
                    "valid_from": now - timedelta(days=1),
                },
            ],
        )
        await connection.execute(
            insert(stock_positions),
            [
                {
                    "sku": SKU,
                    "location": loc,
                    "on_hand": Decimal(on_hand),
                    "reserved": Decimal(1),
                    "as_of": now,
                    "revision": 1,
                }
                for loc, on_hand in (("L-S001", 5), ("L-S002", 7), ("WH", 100))
            ],
        )
