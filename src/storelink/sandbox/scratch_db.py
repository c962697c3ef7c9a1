"""A throw-away PostgreSQL database for one scale-out run, dropped afterwards."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import psycopg
from psycopg import sql

from storelink.errors import SandboxError

#: where a run makes its database when no --database-url is given
DEFAULT_SERVER = "postgresql://postgres@127.0.0.1:5432/postgres"


@asynccontextmanager
async def scratch_database(server: str = DEFAULT_SERVER) -> AsyncIterator[str]:
    """Create ``storelink_sandbox_<random>`` on ``server``; yield its SQLAlchemy URL; drop it.

    The drop forces out connections a killed worker left behind (PostgreSQL 13+).
    """
    name = f"storelink_sandbox_{secrets.token_hex(4)}"
    try:
        admin = await psycopg.AsyncConnection.connect(server, autocommit=True)
    except psycopg.Error as exc:
        raise SandboxError(
            f"--scale-out needs PostgreSQL: cannot connect to {server} ({exc}); "
            "start it or give --database-url",
            server=server,
        ) from exc
    async with admin:
        await admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        try:
            base = server.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://", 1)
            yield f"{base}/{name}"
        finally:
            await admin.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )
