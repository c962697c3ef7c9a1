"""Tables of the webhooks part.

``webhook_deliveries`` is the durable per-endpoint queue: one row per (endpoint,
event), retried by moving ``next_attempt_at`` (never by sleeping in memory).
A row is ``pending`` until a dispatcher claims it (``delivering`` with a
``lease_until``; an expired lease means the worker died and the row is due
again), then ``delivered`` or ``dead``. ``ordering_key`` is set only for
endpoints with ordered delivery: a row waits while an older row with the same
key is still pending or delivering.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from storelink.db.metadata import metadata
from storelink.db.types import BigId, UtcDateTime

webhook_endpoints = Table(
    "webhook_endpoints",
    metadata,
    Column("id", String(40), primary_key=True),
    #: the partner (API client) that owns the endpoint; None for operator-made ones
    Column("owner", String(128)),
    Column("url", Text, nullable=False),
    Column("description", String(256), nullable=False),
    #: JSON list of event type patterns (``*`` wildcards)
    Column("event_types", Text, nullable=False),
    #: JSON list of event source patterns (``/stores/S001``, ``/channels/*``); empty = all
    Column("sources", Text, nullable=False),
    Column("rate_limit", Float),
    Column("max_concurrency", Integer, nullable=False),
    Column("ordered", Boolean, nullable=False),
    Column("enabled", Boolean, nullable=False),
    Column("disabled_reason", Text),
    Column("disabled_at", UtcDateTime),
    #: first failed attempt after the last success (auto-disable clock)
    Column("failing_since", UtcDateTime),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
)

webhook_secrets = Table(
    "webhook_secrets",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column(
        "endpoint_id",
        String(40),
        ForeignKey("webhook_endpoints.id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    #: the secret sealed by :mod:`storelink.webhooks.secrets` (never stored in clear)
    Column("sealed", LargeBinary, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    #: end of a rotated-out secret's overlap window; None while current
    Column("expires_at", UtcDateTime),
)

webhook_deliveries = Table(
    "webhook_deliveries",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column(
        "endpoint_id",
        String(40),
        ForeignKey("webhook_endpoints.id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("event_id", String(128), nullable=False),
    Column("event_type", String(128), nullable=False),
    Column("event_time", UtcDateTime, nullable=False),
    Column("ordering_key", String(256)),
    Column("payload", Text, nullable=False),
    Column("status", String(16), nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("next_attempt_at", UtcDateTime, nullable=False),
    Column("lease_until", UtcDateTime),
    Column("last_status", Integer),
    Column("last_error", Text),
    Column("created_at", UtcDateTime, nullable=False),
    Column("delivered_at", UtcDateTime),
    UniqueConstraint("endpoint_id", "event_id"),
    Index("ix_webhook_deliveries_due", "status", "next_attempt_at"),
    Index("ix_webhook_deliveries_order", "endpoint_id", "ordering_key", "status", "id"),
    Index("ix_webhook_deliveries_endpoint", "endpoint_id", "status", "id"),
)

webhook_attempts = Table(
    "webhook_attempts",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("delivery_id", BigInteger, nullable=False, index=True),
    Column("endpoint_id", String(40), nullable=False),
    Column("attempt", Integer, nullable=False),
    Column("attempted_at", UtcDateTime, nullable=False),
    Column("outcome", String(16), nullable=False),
    Column("status_code", Integer),
    Column("latency_ms", Float, nullable=False),
    Column("response_excerpt", Text),
    Column("error", Text),
    Index("ix_webhook_attempts_endpoint", "endpoint_id", "attempted_at"),
)

inbound_sources = Table(
    "inbound_sources",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("created_at", UtcDateTime, nullable=False),
)

#: a source's verifying secrets: the current one and, after a rotation, the old ones
#: until their overlap window ends (the same shape as ``webhook_secrets``)
inbound_source_secrets = Table(
    "inbound_source_secrets",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column(
        "source",
        String(64),
        ForeignKey("inbound_sources.name", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    #: the secret sealed by :mod:`storelink.webhooks.secrets` (never stored in clear)
    Column("sealed", LargeBinary, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    #: end of a rotated-out secret's overlap window; None while current
    Column("expires_at", UtcDateTime),
)

#: webhook-ids already accepted per source (replay rejection); pruned once they cannot be
#: replayed (:func:`storelink.webhooks.intake.expired_seen`)
inbound_seen = Table(
    "inbound_seen",
    metadata,
    Column("source", String(64), primary_key=True),
    Column("msg_id", String(128), primary_key=True),
    Column("seen_at", UtcDateTime, nullable=False, index=True),
)
