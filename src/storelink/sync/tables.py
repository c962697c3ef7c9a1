"""Tables of the sync part: uploaded store transactions, the revision clock, store contacts."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from storelink.db.metadata import metadata
from storelink.db.types import BigId, UtcDateTime

#: Every transaction a store uploaded, once per ``(store, uuid)``. ``id`` is the
#: hub's arrival order, which the drain follows so a store's sales, returns and
#: counts reach Odoo in the order the store recorded them. ``applied_revision``
#: is the read-model revision whose stock positions first include it.
sync_transactions = Table(
    "sync_transactions",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("store", String(32), nullable=False),
    Column("uuid", String(36), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("payload", Text, nullable=False),
    Column("flagged", Boolean, nullable=False),
    Column("recorded_at", UtcDateTime, nullable=False),
    Column("received_at", UtcDateTime, nullable=False),
    Column("status", String(16), nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("last_error", Text),
    Column("written_at", UtcDateTime),
    Column("applied_revision", BigInteger),
    UniqueConstraint("store", "uuid"),
    Index("ix_sync_transactions_status", "status", "id"),
    Index("ix_sync_transactions_applied", "store", "applied_revision"),
)

#: One row (id=1). ``revision`` is the read model's clock: whoever changes a
#: product, price or stock position takes the next value *by updating this row*,
#: which holds its lock until commit, so revisions become visible in the order
#: they were handed out and a delta reader never skips a row committed late.
#: ``horizon`` is the oldest cursor a delta can still start from.
sync_state = Table(
    "sync_state",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("revision", BigInteger, nullable=False),
    Column("horizon", BigInteger, nullable=False),
)

#: When each store last reached the hub, for status and lag metrics.
store_contacts = Table(
    "store_contacts",
    metadata,
    Column("store", String(32), primary_key=True),
    Column("last_contact_at", UtcDateTime, nullable=False),
    Column("last_upload_at", UtcDateTime),
    Column("last_download_at", UtcDateTime),
)
