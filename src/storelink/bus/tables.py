"""Tables of the bus part: the transactional outbox."""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, Index, String, Table, Text

from storelink.db.metadata import metadata
from storelink.db.types import BigId, UtcDateTime

#: Events written in the same transaction as the state they describe (promise 3).
#: The relay appends unpublished rows to the event log in ``id`` order and sets
#: ``published_at``; a relay that dies between the two re-appends, and the log
#: and consumers drop the duplicate by ``event_id``.
outbox = Table(
    "outbox",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("event_id", String(128), nullable=False, unique=True),
    Column("type", String(128), nullable=False),
    Column("partitionkey", String(256), nullable=False),
    Column("envelope", Text, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("published_at", UtcDateTime),
    #: PostgreSQL: the writing transaction's id (see :mod:`storelink.bus.relay`); NULL on SQLite
    Column("txid", BigInteger),
    Index("ix_outbox_unpublished", "published_at", "id"),
)

#: Event ids a consumer group has handled, so a redelivered or republished
#: event is dropped instead of applied twice (promise 2). Rows older than the
#: retention (``bus.processed_retention_s``) are pruned by the consumer.
processed_events = Table(
    "processed_events",
    metadata,
    Column("group_name", String(128), primary_key=True),
    Column("event_id", String(128), primary_key=True),
    Column("processed_at", UtcDateTime, nullable=False),
    Index("ix_processed_events_processed_at", "processed_at"),
)
