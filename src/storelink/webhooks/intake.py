"""Inbound intake: verified webhooks from partners become events and commands.

A source (a partner system) is registered with its own Standard Webhooks
secret. A payload is accepted only if its signature matches, its timestamp is
within 5 minutes of the hub's clock, and its ``webhook-id`` was not seen before
from that source; the event (a :class:`storelink.model.Event` envelope) is then
written to the outbox in the same transaction that remembers the id.

A source's secret rotates like an endpoint's: during the overlap window a
payload signed with the old or the new secret is accepted, after it only the new.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import pydantic
from sqlalchemy import ColumnElement, delete, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from storelink.bus.outbox import enqueue
from storelink.bus.tables import outbox
from storelink.errors import (
    ConflictError,
    NotFoundError,
    ReplayedWebhookError,
    ValidationError,
)
from storelink.model import Event
from storelink.webhooks.clock import Clock, SystemClock
from storelink.webhooks.secrets import SecretBox
from storelink.webhooks.signing import TOLERANCE, generate_secret, verify
from storelink.webhooks.tables import inbound_seen, inbound_sources

SOURCE_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
#: how long an accepted ``webhook-id`` is remembered. A timestamp may be up to the
#: tolerance ahead of our clock when first accepted and is then replayable for one
#: more tolerance, so twice the tolerance is the longest a replay can still verify.
SEEN_TTL = 2 * TOLERANCE


def expired_seen(now: datetime) -> ColumnElement[bool]:
    """The ``inbound_seen`` rows no replay can match any more (their timestamp is stale)."""
    return inbound_seen.c.seen_at < now - SEEN_TTL


@dataclass(frozen=True, slots=True)
class InboundSource:
    name: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class Accepted:
    event: Event
    #: True when the event id was already in the outbox (accepted earlier under another id)
    duplicate: bool


def _first_error_field(exc: pydantic.ValidationError) -> str:
    errors = exc.errors()
    if not errors:
        return ""
    return "/" + "/".join(str(part) for part in errors[0]["loc"])


@dataclass
class Intake:
    """Register sources and accept their signed payloads."""

    engine: AsyncEngine
    #: seals source secrets at rest: ``SecretBox.from_settings(settings)``, the hub's vault key
    secret_box: SecretBox
    clock: Clock = field(default_factory=SystemClock)
    #: how long a rotated-out secret still verifies (``webhooks.rotation_overlap_s``)
    rotation_overlap_s: float = 86_400

    async def add_source(self, name: str) -> str:
        """Register a source; returns its new secret (shown once)."""
        if not SOURCE_NAME.match(name):
            raise ValidationError(
                "source names are 1-64 lowercase letters, digits, '-' or '_'", field="name"
            )
        secret = generate_secret()
        try:
            async with self.engine.begin() as connection:
                await self.secret_box.add_source(connection, name, secret, now=self.clock.now())
        except IntegrityError as exc:
            raise ConflictError(f"inbound source {name} already exists", source=name) from exc
        return secret

    async def sources(self) -> list[InboundSource]:
        async with self.engine.connect() as connection:
            rows = await connection.execute(
                select(inbound_sources.c.name, inbound_sources.c.created_at).order_by(
                    inbound_sources.c.name
                )
            )
            return [InboundSource(name=row.name, created_at=row.created_at) for row in rows]

    async def remove_source(self, name: str) -> None:
        async with self.engine.begin() as connection:
            result = await connection.execute(
                delete(inbound_sources).where(inbound_sources.c.name == name)
            )
        if result.rowcount == 0:
            raise NotFoundError(f"no inbound source {name}", source=name)

    async def rotate_secret(self, name: str, *, overlap_s: float | None = None) -> str:
        """Give a source a new secret (returned, shown once); the old ones keep verifying
        for ``overlap_s`` more seconds (default ``rotation_overlap_s``)."""
        overlap = self.rotation_overlap_s if overlap_s is None else overlap_s
        if overlap < 0:
            raise ValidationError("the overlap cannot be negative", field="overlap_s")
        now = self.clock.now()
        secret = generate_secret()
        async with self.engine.begin() as connection:
            known = await connection.scalar(
                select(inbound_sources.c.name).where(inbound_sources.c.name == name)
            )
            if known is None:
                raise NotFoundError(f"no inbound source {name}", source=name)
            await self.secret_box.rotate_source_secret(
                connection, name, secret, now=now, expires=now + timedelta(seconds=overlap)
            )
        return secret

    async def accept(self, source: str, headers: Mapping[str, str], body: bytes) -> Accepted:
        """Verify and enqueue one payload.

        Raises :class:`NotFoundError` (unknown source), :class:`SignatureError`
        (bad or missing signature), :class:`StaleTimestampError`,
        :class:`ReplayedWebhookError` or :class:`ValidationError` (not an event envelope).
        """
        now = self.clock.now()
        async with self.engine.begin() as connection:
            secrets = await self.secret_box.source_secrets(connection, source)
            if secrets is None:
                raise NotFoundError(f"no inbound source {source}", source=source)
            message = verify(secrets.active(now), headers, body, now=now)
            try:
                event = Event.model_validate_json(body)
            except pydantic.ValidationError as exc:
                raise ValidationError(
                    f"payload is not a valid event envelope: {exc.errors()[0]['msg']}",
                    field=_first_error_field(exc),
                ) from exc
            # ids past SEEN_TTL can no longer be replayed (stale timestamp); the
            # retention Pruner clears what is left once traffic stops
            await connection.execute(delete(inbound_seen).where(expired_seen(now)))
            seen = await connection.scalar(
                select(inbound_seen.c.msg_id).where(
                    inbound_seen.c.source == source, inbound_seen.c.msg_id == message.msg_id
                )
            )
            if seen is not None:
                raise ReplayedWebhookError(
                    f"webhook-id {message.msg_id} was already accepted from {source}",
                    source=source,
                )
            await connection.execute(
                insert(inbound_seen).values(source=source, msg_id=message.msg_id, seen_at=now)
            )
            duplicate = (
                await connection.scalar(
                    select(outbox.c.event_id).where(outbox.c.event_id == event.id)
                )
                is not None
            )
            if not duplicate:
                await enqueue(connection, [event])
        return Accepted(event=event, duplicate=duplicate)
