"""Visibility and recovery: the attempt log, dead letters, and replays.

A replay puts deliveries back in the queue, due at once, with a fresh retry
schedule; it keeps the event id as ``webhook-id`` so receivers can still dedupe.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from storelink.errors import NotFoundError
from storelink.webhooks.clock import Clock, SystemClock
from storelink.webhooks.retention import Pruner
from storelink.webhooks.tables import webhook_attempts, webhook_deliveries

_SYSTEM_CLOCK = SystemClock()


@dataclass(frozen=True, slots=True)
class AttemptRecord:
    delivery_id: int
    endpoint_id: str
    attempt: int
    attempted_at: datetime
    outcome: str
    status_code: int | None
    latency_ms: float
    response_excerpt: str | None
    error: str | None


@dataclass(frozen=True, slots=True)
class DeliveryRecord:
    id: int
    endpoint_id: str
    event_id: str
    event_type: str
    event_time: datetime
    status: str
    attempts: int
    next_attempt_at: datetime
    last_status: int | None
    last_error: str | None
    delivered_at: datetime | None

    @classmethod
    def from_row(cls, row: Any) -> DeliveryRecord:
        return cls(**{name: getattr(row, name) for name in cls.__slots__})


_DELIVERY_COLUMNS = [webhook_deliveries.c[name] for name in DeliveryRecord.__slots__]


async def attempts(
    engine: AsyncEngine,
    endpoint_id: str,
    *,
    delivery_id: int | None = None,
    limit: int = 100,
) -> list[AttemptRecord]:
    """The newest attempts to an endpoint (or to one of its deliveries), newest first."""
    a = webhook_attempts
    query = select(a).where(a.c.endpoint_id == endpoint_id)
    if delivery_id is not None:
        query = query.where(a.c.delivery_id == delivery_id)
    async with engine.connect() as connection:
        rows = await connection.execute(query.order_by(a.c.id.desc()).limit(limit))
        return [
            AttemptRecord(
                delivery_id=row.delivery_id,
                endpoint_id=row.endpoint_id,
                attempt=row.attempt,
                attempted_at=row.attempted_at,
                outcome=row.outcome,
                status_code=row.status_code,
                latency_ms=row.latency_ms,
                response_excerpt=row.response_excerpt,
                error=row.error,
            )
            for row in rows
        ]


async def deliveries(
    engine: AsyncEngine,
    *,
    endpoint_id: str | None = None,
    status: str | None = None,
    limit: int = 100,
) -> list[DeliveryRecord]:
    """Deliveries, newest first, optionally of one endpoint and in one status."""
    d = webhook_deliveries
    query = select(*_DELIVERY_COLUMNS)
    if endpoint_id is not None:
        query = query.where(d.c.endpoint_id == endpoint_id)
    if status is not None:
        query = query.where(d.c.status == status)
    async with engine.connect() as connection:
        rows = await connection.execute(query.order_by(d.c.id.desc()).limit(limit))
        return [DeliveryRecord.from_row(row) for row in rows]


async def dead_letters(
    engine: AsyncEngine, *, endpoint_id: str | None = None, limit: int = 100
) -> list[DeliveryRecord]:
    """Dead-lettered deliveries with their last error, newest first."""
    return await deliveries(engine, endpoint_id=endpoint_id, status="dead", limit=limit)


async def get_delivery(engine: AsyncEngine, delivery_id: int) -> DeliveryRecord:
    async with engine.connect() as connection:
        row = (
            await connection.execute(
                select(*_DELIVERY_COLUMNS).where(webhook_deliveries.c.id == delivery_id)
            )
        ).first()
    if row is None:
        raise NotFoundError(f"no webhook delivery {delivery_id}", delivery=delivery_id)
    return DeliveryRecord.from_row(row)


async def _requeue(engine: AsyncEngine, where: list[Any], clock: Clock) -> int:
    d = webhook_deliveries
    async with engine.begin() as connection:
        result = await connection.execute(
            update(d)
            .where(d.c.status.in_(("delivered", "dead")), *where)
            .values(
                status="pending",
                attempts=0,
                next_attempt_at=clock.now(),
                lease_until=None,
                delivered_at=None,
            )
        )
    return max(result.rowcount, 0)


async def replay_delivery(
    engine: AsyncEngine, delivery_id: int, *, clock: Clock = _SYSTEM_CLOCK
) -> int:
    """Send one delivered or dead delivery again; 0 when it is still queued."""
    await get_delivery(engine, delivery_id)
    return await _requeue(engine, [webhook_deliveries.c.id == delivery_id], clock)


async def replay_failed(
    engine: AsyncEngine,
    *,
    since: datetime,
    endpoint_id: str | None = None,
    clock: Clock = _SYSTEM_CLOCK,
) -> int:
    """Requeue every dead-lettered delivery of events since ``since``."""
    d = webhook_deliveries
    where = [d.c.status == "dead", d.c.event_time >= since]
    if endpoint_id is not None:
        where.append(d.c.endpoint_id == endpoint_id)
    return await _requeue(engine, where, clock)


async def replay_endpoint(
    engine: AsyncEngine, endpoint_id: str, *, since: datetime, clock: Clock = _SYSTEM_CLOCK
) -> int:
    """Requeue everything (delivered or dead) for an endpoint of events since ``since``."""
    d = webhook_deliveries
    return await _requeue(engine, [d.c.endpoint_id == endpoint_id, d.c.event_time >= since], clock)


async def prune(engine: AsyncEngine, *, before: datetime) -> int:
    """Forget delivered deliveries older than ``before`` and their attempts; returns the
    deliveries removed.

    Dead letters and queued deliveries are kept whatever their age (and so are their
    attempts). The same batched code as the hub's automatic retention
    (:class:`storelink.webhooks.retention.Pruner`).
    """
    return (await Pruner(engine).prune_history(before=before)).deliveries
