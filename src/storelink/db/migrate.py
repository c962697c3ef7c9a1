"""Running Alembic migrations programmatically (``storelink db upgrade`` and on start)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine

from storelink.errors import MigrationError

MIGRATIONS = Path(__file__).with_name("migrations")


def alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def _upgrade(connection: Connection, target: str) -> None:
    config = alembic_config()
    config.attributes["connection"] = connection
    command.upgrade(config, target)


def _heads_in_database(connection: Connection) -> set[str]:
    return set(MigrationContext.configure(connection).get_current_heads())


async def upgrade(engine: AsyncEngine, target: str = "heads") -> set[str]:
    """Apply every pending migration on every branch; return the heads now in the database."""
    try:
        async with engine.begin() as connection:
            await connection.run_sync(_upgrade, target)
        async with engine.connect() as connection:
            return await connection.run_sync(_heads_in_database)
    except SQLAlchemyError as exc:
        cause = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
        raise MigrationError(f"migrations failed: {cause}", url=str(engine.url)) from exc


async def current_heads(engine: AsyncEngine) -> set[str]:
    async with engine.connect() as connection:
        return await connection.run_sync(_heads_in_database)


def script_heads() -> set[str]:
    """The heads the code ships (what a fully upgraded database reports)."""
    return set(ScriptDirectory.from_config(alembic_config()).get_heads())
