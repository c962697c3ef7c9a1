"""Writing the hub read model (``storelink.db.tables``) from what Odoo says.

Plain update-then-insert keyed upserts, portable across SQLite and PostgreSQL.
Rows of ``products``, ``prices`` and ``stock_positions`` carry the revision taken
from the sync clock in the same transaction (see ``storelink.sync.revisions``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Table, and_, insert, update
from sqlalchemy.ext.asyncio import AsyncConnection

from storelink.db.tables import locations, prices, products, stock_positions, stores
from storelink.model import Location, Price, Product, StockPosition, Store, utcnow


async def upsert(
    connection: AsyncConnection, table: Table, keys: Sequence[str], row: Mapping[str, Any]
) -> None:
    """Update the row matching ``keys`` or insert it."""
    where = and_(*(table.c[k] == row[k] for k in keys))
    changes = {k: v for k, v in row.items() if k not in keys}
    result = await connection.execute(update(table).where(where).values(**changes))
    if result.rowcount == 0:
        await connection.execute(insert(table).values(**row))


async def write_product(connection: AsyncConnection, product: Product, revision: int) -> None:
    await upsert(
        connection,
        products,
        ["sku"],
        {**product.model_dump(), "revision": revision, "updated_at": utcnow()},
    )


async def write_price(connection: AsyncConnection, price: Price, revision: int) -> None:
    await upsert(
        connection,
        prices,
        ["sku", "scope_kind", "scope_code", "version"],
        {
            "sku": price.sku,
            "scope_kind": price.scope.kind.value,
            "scope_code": price.scope.code,
            "amount": price.amount,
            "currency": price.currency,
            "version": price.version,
            "valid_from": price.valid_from,
            "valid_to": price.valid_to,
            "revision": revision,
        },
    )


async def write_position(
    connection: AsyncConnection, position: StockPosition, revision: int
) -> None:
    await upsert(
        connection,
        stock_positions,
        ["sku", "location"],
        {
            "sku": position.sku,
            "location": position.location,
            "on_hand": position.on_hand,
            "reserved": position.reserved,
            "as_of": position.as_of,
            "revision": revision,
        },
    )


async def write_store(
    connection: AsyncConnection, estate: tuple[Store, Location], _revision: int
) -> None:
    store, location = estate
    await upsert(
        connection,
        stores,
        ["code"],
        {**store.model_dump(mode="python"), "updated_at": utcnow()},
    )
    await upsert(connection, locations, ["code"], location.model_dump(mode="python"))
