"""Configuration sections, one per part. Each section is a strict pydantic model."""

from __future__ import annotations

from pathlib import Path
from typing import Literal, Self

from pydantic import BaseModel, ConfigDict, Field, HttpUrl, SecretStr, model_validator


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_default=True)


class OdooSettings(Section):
    """How to reach Odoo. No ``url`` means the built-in emulator is used."""

    url: HttpUrl | None = None
    database: str | None = None
    user: str | None = None
    password: SecretStr | None = None
    api_key: SecretStr | None = None
    #: "auto" detects the version at connect time through ``common.version``
    version: Literal["auto", "16", "17", "18", "19"] = "auto"
    timeout_s: float = Field(default=30.0, gt=0, le=600)
    batch_size: int = Field(default=200, ge=1, le=10_000)
    poll_interval_s: float = Field(default=30.0, gt=0)
    webhook_token: SecretStr | None = None
    #: "auto" is JSON-2 on 19+ (needs api_key) and JSON-RPC below
    protocol: Literal["auto", "jsonrpc", "xmlrpc", "json2"] = "auto"
    retry_attempts: int = Field(default=4, ge=1, le=20)
    breaker_threshold: int = Field(default=5, ge=1, le=1000)
    breaker_reset_s: float = Field(default=30.0, gt=0)
    #: canonical tax class -> name of the Odoo sale tax (account.tax) it maps to
    tax_classes: dict[str, str] = Field(default_factory=dict)
    #: store codes expected to exist as stock.warehouse codes (``storelink odoo check``)
    stores: list[str] = Field(default_factory=list)
    #: the built-in emulator (no ``url``): "fast", or "real" to answer as slowly as the
    #: measured real Odoo of its version (see :mod:`storelink.odoo.latency`)
    emulator_latency: Literal["fast", "real"] = "fast"
    #: with ``emulator_latency = "real"``: calls the emulator answers at once
    emulator_workers: int = Field(default=1, ge=1, le=64)

    @model_validator(mode="after")
    def _credentials(self) -> Self:
        if self.url is not None:
            if not self.database:
                raise ValueError("odoo.database is required when odoo.url is set")
            if self.password is None and self.api_key is None:
                raise ValueError("odoo.password or odoo.api_key is required when odoo.url is set")
        return self


class RateLimitSettings(Section):
    per_s: float = Field(gt=0)
    burst: int = Field(ge=1)


class ApiSettings(Section):
    host: str = "127.0.0.1"
    port: int = Field(default=8420, ge=1, le=65535)
    #: base URL others use to reach this hub (webhook intake, agents)
    public_url: HttpUrl | None = None
    token_ttl_s: int = Field(default=900, ge=30, le=86_400)
    token_audience: str = "storelink"
    #: token-bucket limits per role (a client's own override wins)
    rate_limits: dict[str, RateLimitSettings] = Field(
        default_factory=lambda: {
            "store": RateLimitSettings(per_s=50, burst=100),
            "channel": RateLimitSettings(per_s=50, burst=100),
            "partner": RateLimitSettings(per_s=20, burst=40),
            "support": RateLimitSettings(per_s=10, burst=20),
            "integration_admin": RateLimitSettings(per_s=500, burst=1000),
        }
    )
    #: how long an Idempotency-Key's first response is replayed
    idempotency_ttl_s: int = Field(default=86_400, ge=60)
    #: lease of an in-progress Idempotency-Key claim, renewed every third of it while the
    #: request runs; a claim whose worker died is taken over once its lease ran out
    idempotency_lease_s: float = Field(default=10.0, gt=0, le=300)
    #: where the token buckets live: "memory" (each hub process alone), "database" (the
    #: hub's database, shared by every worker), "redis" (``redis_url``); "auto" is redis
    #: when ``redis_url`` is set, else database on PostgreSQL and memory on SQLite
    rate_limit_backend: Literal["auto", "memory", "database", "redis"] = "auto"
    #: Redis for shared rate limits, e.g. ``redis://127.0.0.1:6379/0``
    redis_url: str | None = Field(default=None, pattern=r"^(redis|rediss|unix)://")
    #: prefix of every Redis key the hub writes (estates sharing one Redis keep apart)
    redis_prefix: str = Field(default="storelink", pattern=r"^[A-Za-z0-9_:.-]+$")
    #: a Redis call slower than this counts as Redis down (decided per worker meanwhile)
    redis_timeout_s: float = Field(default=0.25, gt=0, le=10)

    @model_validator(mode="after")
    def _redis_backend(self) -> Self:
        if self.rate_limit_backend == "redis" and self.redis_url is None:
            raise ValueError('api.redis_url is required when api.rate_limit_backend = "redis"')
        return self


class BusSettings(Section):
    """The event log. ``bus_url`` (top level) picks the backend; this tunes it."""

    #: embedded backend: the SQLite log file (default ``<data_dir>/events.db``)
    path: Path | None = None
    #: NATS backend: prefix of subjects and stream names (one stream per event family)
    nats_prefix: str = Field(default="storelink", pattern=r"^[A-Za-z][A-Za-z0-9_-]*$")
    #: NATS backend: publish dedup window for ``Nats-Msg-Id`` (= event id)
    duplicate_window_s: float = Field(default=120.0, gt=0)
    #: NATS backend: partitions per event family; an event's key picks one, and a group
    #: handles one event per partition at a time across all its processes (per-key order).
    #: Fixed for the life of the streams: change it only on new streams (another prefix).
    partitions: int = Field(default=16, ge=1, le=1024)
    ack_wait_s: float = Field(default=30.0, gt=0)
    max_deliver: int = Field(default=5, ge=1)
    #: retention: events older than this are removed (0 keeps them forever)
    retention_max_age_s: float = Field(default=7 * 86_400, ge=0)
    #: retention: keep at most this many events (0 means no limit)
    retention_max_events: int = Field(default=0, ge=0)
    #: processed event ids kept for consumer dedup
    processed_retention_s: float = Field(default=14 * 86_400, gt=0)


class WebhookSettings(Section):
    allow_http: bool = False
    #: hosts allowed even though they resolve to private/loopback addresses
    allowed_hosts: list[str] = Field(default_factory=list)
    timeout_s: float = Field(default=15.0, gt=0, le=120)
    #: seconds before each retry; the default follows Standard Webhooks practice
    retry_schedule_s: list[float] = Field(
        default_factory=lambda: [0.0, 5.0, 300.0, 1800.0, 7200.0, 18000.0, 36000.0, 36000.0]
    )
    disable_after_s: float = Field(default=5 * 86_400, gt=0)
    #: +/- fraction of each retry delay drawn at random so retries do not stampede
    jitter: float = Field(default=0.1, ge=0, lt=1)
    #: how long a rotated-out secret keeps signing beside the new one
    rotation_overlap_s: float = Field(default=86_400, ge=0)
    #: in-flight attempts per endpoint unless the endpoint says otherwise
    max_concurrency: int = Field(default=10, ge=1, le=1000)
    #: how often an idle dispatcher looks for due deliveries
    poll_interval_s: float = Field(default=0.5, gt=0, le=60)
    #: delivered deliveries (and their attempt log) older than this are pruned; 0 keeps them
    retention_days: float = Field(default=30, ge=0)
    #: how often the hub prunes delivered history and expired inbound webhook-ids
    prune_interval_s: float = Field(default=3600, gt=0, le=86_400)
    #: ``storelink webhooks worker`` serves ``/healthz`` and ``/metrics`` here (on ``api.host``)
    worker_port: int = Field(default=8422, ge=1, le=65535)


class HubSettings(Section):
    """How hub worker processes share the background work (leases, see
    :mod:`storelink.db.leases`)."""

    #: this process's name in the lease table; unset: ``STORELINK_WORKER_ID``, else
    #: ``hostname:pid:random`` (see :mod:`storelink.ops.identity`). Must differ per process.
    worker_id: str | None = Field(default=None, min_length=1, max_length=128)
    #: a lease not renewed for this long may be taken by another worker (failover time)
    lease_ttl_s: float = Field(default=10.0, gt=0, le=3600)
    #: how often a holder renews its leases; unset: a third of ``lease_ttl_s``
    lease_renew_s: float | None = Field(default=None, gt=0)

    @model_validator(mode="after")
    def _renew_within_ttl(self) -> Self:
        if self.lease_renew_s is not None and self.lease_renew_s >= self.lease_ttl_s:
            raise ValueError("hub.lease_renew_s must be shorter than hub.lease_ttl_s")
        return self

    @property
    def renew_s(self) -> float:
        return self.lease_renew_s if self.lease_renew_s is not None else self.lease_ttl_s / 3


class AgentSettings(Section):
    """The store agent (``storelink agent run``)."""

    store: str | None = None
    hub_url: HttpUrl | None = None
    #: where the local POS API listens (the store LAN)
    host: str = "127.0.0.1"
    port: int = Field(default=8421, ge=1, le=65535)
    client_id: str | None = None
    client_secret: SecretStr | None = None
    upload_batch_size: int = Field(default=200, ge=1, le=5000)
    #: the agent's SQLite file (default ``<data_dir>/agent-<store>.db``)
    database: Path | None = None
    #: how often an idle agent looks for unsent transactions and for hub changes
    upload_interval_s: float = Field(default=1.0, gt=0, le=3600)
    download_interval_s: float = Field(default=10.0, gt=0, le=86_400)
    download_page_size: int = Field(default=500, ge=1, le=5000)
    hub_timeout_s: float = Field(default=10.0, gt=0, le=600)
    #: backoff while the hub is unreachable: base doubling up to cap, with jitter
    backoff_base_s: float = Field(default=0.5, gt=0)
    backoff_cap_s: float = Field(default=30.0, gt=0)


class ObservabilitySettings(Section):
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    log_format: Literal["json", "console"] = "json"
    service_name: str = "storelink"
    #: OTLP/HTTP traces endpoint; tracing exports nothing when unset
    otlp_endpoint: HttpUrl | None = None


class SecuritySettings(Section):
    #: key for the PII vault and token signing keys at rest (urlsafe base64, 32 bytes)
    vault_key: SecretStr | None = None


def default_data_dir() -> Path:
    return Path("storelink-data")
