"""Migrations run on SQLite and on the real PostgreSQL, and match the declared tables."""

from __future__ import annotations

import importlib
import pkgutil
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import insert, select, text
from sqlalchemy.engine import Connection

import storelink
from storelink.db import create_engine, current_heads, metadata, upgrade
from storelink.db import tables as t
from storelink.db.migrate import script_heads


def _import_all_tables() -> None:
    """Import every part's ``tables`` module so ``metadata`` knows all tables."""
    for module in pkgutil.walk_packages(storelink.__path__, "storelink."):
        if module.name.endswith(".tables"):
            importlib.import_module(module.name)


def _diff(connection: Connection) -> list[object]:
    context = MigrationContext.configure(connection, opts={"compare_type": False})
    ignored = {"alembic_version"}
    return [
        d
        for d in compare_metadata(context, metadata)
        if not (isinstance(d, tuple) and d[0] == "remove_table" and d[1].name in ignored)
    ]


async def test_upgrade_reaches_every_head_and_matches_metadata(database_url: str) -> None:
    _import_all_tables()
    engine = create_engine(database_url)
    try:
        assert await upgrade(engine) == script_heads()
        assert await current_heads(engine) == script_heads()
        async with engine.connect() as connection:
            assert await connection.run_sync(_diff) == []
        # a second run is a no-op
        assert await upgrade(engine) == script_heads()
    finally:
        await engine.dispose()


async def test_amounts_and_times_stay_exact(database_url: str) -> None:
    engine = create_engine(database_url)
    try:
        await upgrade(engine)
        at = datetime(2026, 11, 28, 9, 0, 0, 123456, tzinfo=UTC)
        async with engine.begin() as connection:
            await connection.execute(
                insert(t.stock_positions),
                {
                    "sku": "A",
                    "location": "L",
                    "on_hand": Decimal("12345678.1234"),
                    "reserved": Decimal("0.1"),
                    "as_of": at,
                    "revision": 1,
                },
            )
        async with engine.connect() as connection:
            row = (await connection.execute(select(t.stock_positions))).one()
        assert row.on_hand == Decimal("12345678.1234")
        assert row.reserved == Decimal("0.1000")
        assert row.as_of == at and row.as_of.tzinfo is not None
    finally:
        await engine.dispose()


async def test_sqlite_is_opened_in_wal_with_full_sync(sqlite_url: str) -> None:
    engine = create_engine(sqlite_url)
    try:
        async with engine.connect() as connection:
            assert (await connection.execute(text("PRAGMA journal_mode"))).scalar() == "wal"
            assert (await connection.execute(text("PRAGMA synchronous"))).scalar() == 2  # FULL
            assert (await connection.execute(text("PRAGMA busy_timeout"))).scalar() >= 1000
    finally:
        await engine.dispose()


async def test_float_is_refused_by_amount_columns(sqlite_url: str) -> None:
    engine = create_engine(sqlite_url)
    try:
        await upgrade(engine)
        with pytest.raises(Exception, match="float given to an Amount column"):
            async with engine.begin() as connection:
                await connection.execute(
                    insert(t.stock_positions),
                    {
                        "sku": "A",
                        "location": "L",
                        "on_hand": 1.5,
                        "reserved": Decimal(0),
                        "as_of": datetime.now(UTC),
                        "revision": 1,
                    },
                )
    finally:
        await engine.dispose()
