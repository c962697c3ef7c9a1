"""``INSERT … ON CONFLICT`` for the database at hand (SQLite and PostgreSQL both have it)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection


def upsert_insert(connection: AsyncConnection, table: Table) -> Any:
    """An insert construct with ``on_conflict_do_nothing/do_update`` for this connection."""
    if connection.dialect.name == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)
