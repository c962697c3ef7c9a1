"""Alembic environment: always driven from :mod:`storelink.db.migrate` with a live connection."""

from __future__ import annotations

from alembic import context

from storelink.db.metadata import metadata

connection = context.config.attributes.get("connection")
if connection is None:  # pragma: no cover - only reachable by running alembic by hand
    raise RuntimeError("run migrations with `storelink db upgrade`, not the alembic command")

context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
