"""Tables of the api part: clients, keys, idempotency records, rate-limit buckets, orders,
returns, customers."""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    Float,
    Integer,
    LargeBinary,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from storelink.db.metadata import metadata
from storelink.db.types import UtcDateTime

#: OAuth2 clients; ``secret_hash`` is a salted scrypt hash, never the secret.
api_clients = Table(
    "api_clients",
    metadata,
    Column("client_id", String(64), primary_key=True),
    Column("secret_hash", String(256), nullable=False),
    Column("role", String(32), nullable=False),
    Column("store", String(32)),
    Column("channel", String(32)),
    #: per-client rate limit override (requests per second and bucket size)
    Column("rate_per_s", Float),
    Column("burst", Integer),
    Column("created_at", UtcDateTime, nullable=False),
    Column("revoked_at", UtcDateTime),
)

#: JWT signing keys (HMAC secrets sealed with the vault key); newest unretired signs.
api_signing_keys = Table(
    "api_signing_keys",
    metadata,
    Column("kid", String(32), primary_key=True),
    Column("sealed", LargeBinary, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("retired_at", UtcDateTime),
)

#: One row per (client, Idempotency-Key): in progress, then the stored first response.
api_idempotency = Table(
    "api_idempotency",
    metadata,
    Column("client_id", String(64), nullable=False),
    Column("key", String(255), nullable=False),
    Column("fingerprint", String(64), nullable=False),
    #: in_progress, done, or unknown (the worker running it died; its outcome is unknown)
    Column("state", String(16), nullable=False),
    Column("status_code", Integer),
    Column("headers", Text),
    Column("body", LargeBinary),
    Column("created_at", UtcDateTime, nullable=False),
    #: the worker holding an in-progress claim, for people reading the table
    Column("owner", String(160)),
    #: fencing token of the current holder: renewals and the final write need it
    Column("lease_token", String(32)),
    #: an in-progress claim not renewed by then may be taken over
    Column("lease_expires_at", UtcDateTime),
    PrimaryKeyConstraint("client_id", "key", name="pk_api_idempotency"),
)

#: Token buckets shared by every hub worker (``api.rate_limit_backend = "database"``).
api_rate_limit_buckets = Table(
    "api_rate_limit_buckets",
    metadata,
    Column("key", String(255), primary_key=True),
    Column("tokens", Float, nullable=False),
    #: seconds since the epoch on the workers' clock; never moves back
    Column("updated_s", Float, nullable=False),
    #: whether the last request that touched the bucket got a token
    Column("granted", Boolean, nullable=False),
)

#: Channel orders as captured; ``payload`` is the canonical Order JSON.
api_orders = Table(
    "api_orders",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("channel", String(32), nullable=False),
    Column("external_ref", String(64), nullable=False),
    Column("status", String(16), nullable=False),
    Column("payload", Text, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    UniqueConstraint("channel", "external_ref", name="uq_api_orders_channel_ref"),
)

#: Returns recorded through the API; ``payload`` is the canonical Return JSON.
api_returns = Table(
    "api_returns",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("store", String(32), nullable=False),
    Column("status", String(16), nullable=False),
    Column("payload", Text, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
)

#: Customers with personal data replaced by vault tokens.
api_customers = Table(
    "api_customers",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("channel", String(32)),
    Column("name_token", String(64), nullable=False),
    Column("email_token", String(64)),
    Column("phone_token", String(64)),
    Column("address_token", String(64)),
    Column("marketing_consent", Boolean, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
)
