"""Endpoints and their subscriptions: the store operators and partners manage.

An endpoint is a URL plus what it subscribes to (event type patterns with
``*`` wildcards, optional event source patterns such as ``/stores/S001`` or
``/channels/web``), its signing secrets, throttling (msg/s, concurrency),
whether one partition key's events go out strictly in order, and whether it is
enabled (with the reason when not)::

    store = EndpointStore(engine, policy=URLPolicy.from_settings(settings.webhooks),
                          secret_box=SecretBox.from_settings(settings))
    endpoint, secret = await store.add(EndpointSpec(url="https://partner.example/hooks",
                                                    event_types=("storelink.order.*",)))
"""

from __future__ import annotations

import json
import secrets as random_tokens
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from fnmatch import fnmatchcase
from typing import Any

from sqlalchemy import and_, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from storelink.bus.outbox import enqueue
from storelink.errors import NotFoundError, ValidationError
from storelink.model import Event, EventType, WebhookEndpointDisabled
from storelink.webhooks.clock import Clock, SystemClock
from storelink.webhooks.secrets import SecretBox
from storelink.webhooks.signing import generate_secret
from storelink.webhooks.ssrf import URLPolicy
from storelink.webhooks.tables import webhook_endpoints


@dataclass(frozen=True, slots=True)
class EndpointSpec:
    """What a new endpoint should receive and how fast."""

    url: str
    event_types: tuple[str, ...] = ("*",)
    sources: tuple[str, ...] = ()
    description: str = ""
    rate_limit: float | None = None
    max_concurrency: int | None = None
    ordered: bool = False
    owner: str | None = None


@dataclass(frozen=True, slots=True)
class Endpoint:
    id: str
    owner: str | None
    url: str
    description: str
    event_types: tuple[str, ...]
    sources: tuple[str, ...]
    rate_limit: float | None
    max_concurrency: int
    ordered: bool
    enabled: bool
    disabled_reason: str | None
    disabled_at: datetime | None
    failing_since: datetime | None
    created_at: datetime

    def matches(self, event: Event) -> bool:
        """Whether this endpoint subscribes to ``event`` (type and source filters)."""
        if not any(fnmatchcase(event.type, pattern) for pattern in self.event_types):
            return False
        return not self.sources or any(fnmatchcase(event.source, p) for p in self.sources)

    @classmethod
    def from_row(cls, row: Any) -> Endpoint:
        return cls(
            id=row.id,
            owner=row.owner,
            url=row.url,
            description=row.description,
            event_types=tuple(json.loads(row.event_types)),
            sources=tuple(json.loads(row.sources)),
            rate_limit=row.rate_limit,
            max_concurrency=row.max_concurrency,
            ordered=row.ordered,
            enabled=row.enabled,
            disabled_reason=row.disabled_reason,
            disabled_at=row.disabled_at,
            failing_since=row.failing_since,
            created_at=row.created_at,
        )


def new_endpoint_id() -> str:
    return "ep_" + random_tokens.token_hex(12)


def _check_patterns(name: str, patterns: Sequence[str]) -> None:
    for index, pattern in enumerate(patterns):
        if not pattern or len(pattern) > 128 or " " in pattern:
            raise ValidationError(f"{name}[{index}]: not a valid pattern", field=f"{name}[{index}]")


def _owned(endpoint_id: str, owner: str | None) -> Any:
    clause = webhook_endpoints.c.id == endpoint_id
    if owner is not None:
        clause = and_(clause, webhook_endpoints.c.owner == owner)
    return clause


async def disable_endpoint(
    connection: AsyncConnection, endpoint_id: str, reason: str, now: datetime
) -> bool:
    """Disable an enabled endpoint and emit ``webhook_endpoint.disabled`` in the same transaction.

    Returns False when it was already disabled (no second event).
    """
    row = (
        await connection.execute(
            update(webhook_endpoints)
            .where(webhook_endpoints.c.id == endpoint_id, webhook_endpoints.c.enabled.is_(True))
            .values(enabled=False, disabled_reason=reason, disabled_at=now, updated_at=now)
            .returning(webhook_endpoints.c.url)
        )
    ).first()
    if row is None:
        return False
    fact = WebhookEndpointDisabled(
        endpoint=endpoint_id, url=row.url, reason=reason, disabled_at=now
    )
    await enqueue(
        connection,
        [
            Event.of(
                EventType.WEBHOOK_ENDPOINT_DISABLED,
                fact,
                source="/hub/webhooks",
                subject=endpoint_id,
                partitionkey=f"webhook_endpoint:{endpoint_id}",
            )
        ],
    )
    return True


@dataclass
class EndpointStore:
    """Create, list, enable/disable endpoints and rotate their secrets.

    ``owner`` arguments scope every call to one partner: an endpoint owned by
    someone else is reported as not found.
    """

    engine: AsyncEngine
    #: seals secrets at rest: ``SecretBox.from_settings(settings)``, the hub's vault key
    secret_box: SecretBox
    policy: URLPolicy = field(default_factory=URLPolicy)
    clock: Clock = field(default_factory=SystemClock)
    rotation_overlap_s: float = 86_400
    default_concurrency: int = 10

    async def add(self, spec: EndpointSpec) -> tuple[Endpoint, str]:
        """Store a new endpoint; returns it and its first signing secret."""
        await self.policy.check(spec.url)
        _check_patterns("event_types", spec.event_types)
        _check_patterns("sources", spec.sources)
        if not spec.event_types:
            raise ValidationError("subscribe to at least one event type", field="event_types")
        if spec.rate_limit is not None and spec.rate_limit <= 0:
            raise ValidationError("rate_limit must be positive (msg/s)", field="rate_limit")
        concurrency = spec.max_concurrency or self.default_concurrency
        if concurrency < 1:
            raise ValidationError("max_concurrency must be at least 1", field="max_concurrency")
        now = self.clock.now()
        endpoint_id = new_endpoint_id()
        secret = generate_secret()
        async with self.engine.begin() as connection:
            await connection.execute(
                insert(webhook_endpoints).values(
                    id=endpoint_id,
                    owner=spec.owner,
                    url=spec.url,
                    description=spec.description,
                    event_types=json.dumps(list(spec.event_types)),
                    sources=json.dumps(list(spec.sources)),
                    rate_limit=spec.rate_limit,
                    max_concurrency=concurrency,
                    ordered=spec.ordered,
                    enabled=True,
                    created_at=now,
                    updated_at=now,
                )
            )
            await self.secret_box.add_endpoint_secret(connection, endpoint_id, secret, now=now)
        return await self.get(endpoint_id), secret

    async def get(self, endpoint_id: str, *, owner: str | None = None) -> Endpoint:
        async with self.engine.connect() as connection:
            row = (
                await connection.execute(
                    select(webhook_endpoints).where(_owned(endpoint_id, owner))
                )
            ).first()
        if row is None:
            raise NotFoundError(f"no webhook endpoint {endpoint_id}", endpoint=endpoint_id)
        return Endpoint.from_row(row)

    async def all(self, *, owner: str | None = None) -> list[Endpoint]:
        query = select(webhook_endpoints).order_by(webhook_endpoints.c.created_at)
        if owner is not None:
            query = query.where(webhook_endpoints.c.owner == owner)
        async with self.engine.connect() as connection:
            return [Endpoint.from_row(row) for row in await connection.execute(query)]

    async def disable(
        self, endpoint_id: str, reason: str = "disabled by operator", *, owner: str | None = None
    ) -> Endpoint:
        await self.get(endpoint_id, owner=owner)
        async with self.engine.begin() as connection:
            await disable_endpoint(connection, endpoint_id, reason, self.clock.now())
        return await self.get(endpoint_id)

    async def enable(self, endpoint_id: str, *, owner: str | None = None) -> Endpoint:
        """Enable again; deliveries that waited while disabled are due at once."""
        now = self.clock.now()
        async with self.engine.begin() as connection:
            result = await connection.execute(
                update(webhook_endpoints)
                .where(_owned(endpoint_id, owner))
                .values(
                    enabled=True,
                    disabled_reason=None,
                    disabled_at=None,
                    failing_since=None,
                    updated_at=now,
                )
            )
        if result.rowcount == 0:
            raise NotFoundError(f"no webhook endpoint {endpoint_id}", endpoint=endpoint_id)
        return await self.get(endpoint_id)

    async def rotate_secret(
        self, endpoint_id: str, *, owner: str | None = None, overlap_s: float | None = None
    ) -> str:
        """Add a new secret; the old ones keep signing for ``overlap_s`` more seconds."""
        await self.get(endpoint_id, owner=owner)
        now = self.clock.now()
        overlap = self.rotation_overlap_s if overlap_s is None else overlap_s
        expires = now + timedelta(seconds=overlap)
        secret = generate_secret()
        async with self.engine.begin() as connection:
            await self.secret_box.rotate_endpoint_secret(
                connection, endpoint_id, secret, now=now, expires=expires
            )
            # a new updated_at tells dispatchers to reload the endpoint's secrets
            await connection.execute(
                update(webhook_endpoints)
                .where(webhook_endpoints.c.id == endpoint_id)
                .values(updated_at=now)
            )
        return secret

    async def secrets(self, endpoint_id: str, *, owner: str | None = None) -> list[str]:
        """The secrets signing right now, newest first."""
        await self.get(endpoint_id, owner=owner)
        async with self.engine.connect() as connection:
            return (await self.secret_box.endpoint_secrets(connection, endpoint_id)).active(
                self.clock.now()
            )
