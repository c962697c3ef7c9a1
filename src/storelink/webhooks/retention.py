"""Retention: delivered webhook history and spent inbound webhook-ids are deleted.

The hub runs a :class:`Pruner` every ``webhooks.prune_interval_s``; it removes
delivered deliveries older than ``webhooks.retention_days`` with their attempt
rows, inbound ``webhook-id``\\ s no replay can match any more, and rotated-out
secrets whose overlap window has ended. Deliveries that
are pending, in flight or dead-lettered are never touched: a dead letter stays
until it is replayed (or pruned by hand with ``storelink webhooks prune``, which
runs the same code). Rows go in batches of ``batch``, one short transaction
each, so a large backlog never holds SQLite's single write lock for long::

    pruner = Pruner.from_settings(engine, settings.webhooks)
    await pruner.run(stop)
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import delete, select, tuple_
from sqlalchemy.ext.asyncio import AsyncEngine

from storelink.bus.worker import idle
from storelink.config.sections import WebhookSettings
from storelink.ops.logging import get_logger
from storelink.webhooks.clock import Clock, SystemClock
from storelink.webhooks.intake import expired_seen
from storelink.webhooks.metrics import PRUNED_ROWS
from storelink.webhooks.tables import (
    inbound_seen,
    inbound_source_secrets,
    webhook_attempts,
    webhook_deliveries,
    webhook_secrets,
)

_log = get_logger("storelink.webhooks")


@dataclass(frozen=True, slots=True)
class Pruned:
    """Rows removed by one pruning pass."""

    deliveries: int = 0
    attempts: int = 0
    inbound_ids: int = 0
    #: rotated-out secrets (outbound and inbound) past their overlap window
    secrets: int = 0

    @property
    def total(self) -> int:
        return self.deliveries + self.attempts + self.inbound_ids + self.secrets


@dataclass
class Pruner:
    """Deletes expired webhook rows in bounded batches; a hub :class:`~storelink.hub.Worker`."""

    engine: AsyncEngine
    #: delivered history older than this goes; None keeps it forever
    retention: timedelta | None = timedelta(days=30)
    clock: Clock = field(default_factory=SystemClock)
    interval_s: float = 3600
    #: rows per transaction
    batch: int = 500

    @classmethod
    def from_settings(
        cls, engine: AsyncEngine, settings: WebhookSettings, *, clock: Clock | None = None
    ) -> Pruner:
        days = settings.retention_days
        return cls(
            engine,
            retention=timedelta(days=days) if days > 0 else None,
            clock=clock or SystemClock(),
            interval_s=settings.prune_interval_s,
        )

    async def prune_history(self, *, before: datetime, stop: asyncio.Event | None = None) -> Pruned:
        """Delete delivered deliveries delivered before ``before`` and their attempts."""
        d, a = webhook_deliveries, webhook_attempts
        # A delivered row was due before it was delivered (next_attempt_at <= delivered_at),
        # so the bound on next_attempt_at changes nothing but lets the (status,
        # next_attempt_at) index find a batch without walking every delivered row.
        candidates = (
            select(d.c.id)
            .where(
                d.c.status == "delivered",
                d.c.delivered_at < before,
                d.c.next_attempt_at < before,
            )
            .order_by(d.c.next_attempt_at)
            .limit(self.batch)
        )
        # The outer condition re-checks only delivered_at: a replay clears it, so a row
        # replayed since the subquery read it stays (PostgreSQL re-evaluates it on the
        # new row version). Repeating ``status`` here would make SQLite walk the status
        # index instead of looking the batch up by primary key.
        batch_delete = (
            delete(d).where(d.c.delivered_at < before, d.c.id.in_(candidates)).returning(d.c.id)
        )
        deliveries = attempts = 0
        while stop is None or not stop.is_set():
            async with self.engine.begin() as connection:
                ids = (await connection.execute(batch_delete)).scalars().all()
                removed_attempts = 0
                if ids:
                    result = await connection.execute(delete(a).where(a.c.delivery_id.in_(ids)))
                    removed_attempts = max(result.rowcount, 0)
            deliveries += len(ids)
            attempts += removed_attempts
            PRUNED_ROWS.labels(kind="deliveries").inc(len(ids))
            PRUNED_ROWS.labels(kind="attempts").inc(removed_attempts)
            if len(ids) < self.batch:
                break
            await asyncio.sleep(0)  # let this process's other writers in between batches
        return Pruned(deliveries=deliveries, attempts=attempts)

    async def prune_inbound_ids(self, *, now: datetime, stop: asyncio.Event | None = None) -> int:
        """Delete remembered inbound ``webhook-id``\\ s whose replays would be stale anyway."""
        s = inbound_seen
        candidates = select(s.c.source, s.c.msg_id).where(expired_seen(now)).limit(self.batch)
        # seen_at re-checked: an id accepted again since the subquery read it stays
        batch_delete = delete(s).where(
            expired_seen(now), tuple_(s.c.source, s.c.msg_id).in_(candidates)
        )
        removed = 0
        while stop is None or not stop.is_set():
            async with self.engine.begin() as connection:
                count = max((await connection.execute(batch_delete)).rowcount, 0)
            removed += count
            PRUNED_ROWS.labels(kind="inbound_ids").inc(count)
            if count < self.batch:
                break
            await asyncio.sleep(0)
        return removed

    async def prune_expired_secrets(self, *, now: datetime) -> int:
        """Delete rotated-out secrets whose overlap has ended: they can never sign or verify
        again, and intake would otherwise open every one of them on each request."""
        removed = 0
        async with self.engine.begin() as connection:
            for table in (webhook_secrets, inbound_source_secrets):
                result = await connection.execute(
                    delete(table).where(table.c.expires_at.is_not(None), table.c.expires_at <= now)
                )
                removed += max(result.rowcount, 0)
        PRUNED_ROWS.labels(kind="secrets").inc(removed)
        return removed

    async def prune(self, stop: asyncio.Event | None = None) -> Pruned:
        """One pass under the configured retention."""
        now = self.clock.now()
        history = Pruned()
        if self.retention is not None:
            history = await self.prune_history(before=now - self.retention, stop=stop)
        inbound_ids = await self.prune_inbound_ids(now=now, stop=stop)
        expired = await self.prune_expired_secrets(now=now)
        pruned = Pruned(history.deliveries, history.attempts, inbound_ids, expired)
        if pruned.total:
            _log.info(
                "webhooks.pruned",
                deliveries=pruned.deliveries,
                attempts=pruned.attempts,
                inbound_ids=pruned.inbound_ids,
                secrets=pruned.secrets,
            )
        return pruned

    async def run_once(self) -> int:
        """One pass; the number of rows removed."""
        return (await self.prune()).total

    async def run(self, stop: asyncio.Event) -> None:
        """Prune every ``interval_s`` until ``stop`` is set (a batch in progress finishes)."""
        while not stop.is_set():
            await self.prune(stop)
            await idle(stop, self.interval_s)
