"""Inbound intake: verified webhooks from partners become events and commands.

A source (a partner system) is registered with its own Standard Webhooks
secret. A payload is accepted only if its signature matches, its timestamp is
within 5 minutes of the hub's clock, and its ``webhook-id`` was not seen before
from that source; the event (a :class:`storelink.model.Event` envelope) is then
written to the outbox in the same transaction that remembers the id.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

import pydantic
from sqlalchemy import delete, insert, select
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

    async def accept(self, source: str, headers: Mapping[str, str], body: bytes) -> Accepted:
        """Verify and enqueue one payload.

        Raises :class:`NotFoundError` (unknown source), :class:`SignatureError`
        (bad or missing signature), :class:`StaleTimestampError`,
        :class:`ReplayedWebhookError` or :class:`ValidationError` (not an event envelope).
        """
        now = self.clock.now()
        async with self.engine.begin() as connection:
            secret = await self.secret_box.source_secret(connection, source)
            if secret is None:
                raise NotFoundError(f"no inbound source {source}", source=source)
            message = verify([secret], headers, body, now=now)
            try:
                event = Event.model_validate_json(body)
            except pydantic.ValidationError as exc:
                raise ValidationError(
                    f"payload is not a valid event envelope: {exc.errors()[0]['msg']}",
                    field=_first_error_field(exc),
                ) from exc
            # ids older than the tolerance can no longer be replayed (stale timestamp)
            await connection.execute(
                delete(inbound_seen).where(inbound_seen.c.seen_at < now - 2 * TOLERANCE)
            )
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
