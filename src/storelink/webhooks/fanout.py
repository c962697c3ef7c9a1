"""Fan-out: turn a bus event into one durable delivery row per subscribed endpoint.

The bus consumer handler calls :func:`fanout`; it is idempotent by (endpoint,
event id), so a redelivered event creates nothing new. Disabled endpoints get
no new deliveries (those already queued wait for the endpoint to be enabled).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from storelink.model import Event
from storelink.webhooks.clock import Clock, SystemClock
from storelink.webhooks.endpoints import Endpoint
from storelink.webhooks.tables import webhook_deliveries, webhook_endpoints

_SYSTEM_CLOCK = SystemClock()


def _insert_ignoring_duplicates(connection: AsyncConnection) -> Any:
    dialect = postgresql if connection.dialect.name == "postgresql" else sqlite
    return dialect.insert(webhook_deliveries).on_conflict_do_nothing(
        index_elements=["endpoint_id", "event_id"]
    )


async def fanout(
    target: AsyncConnection | AsyncEngine,
    event: Event | Sequence[Event],
    *,
    clock: Clock = _SYSTEM_CLOCK,
    first_delay_s: float = 0.0,
) -> int:
    """Create the deliveries of ``event`` (or several events); return how many are new.

    Given a connection, rows are written in the caller's transaction; given an
    engine, in a transaction of their own.
    """
    events = [event] if isinstance(event, Event) else list(event)
    if not events:
        return 0
    if isinstance(target, AsyncEngine):
        async with target.begin() as connection:
            return await _fanout(connection, events, clock, first_delay_s)
    return await _fanout(target, events, clock, first_delay_s)


async def _fanout(
    connection: AsyncConnection, events: list[Event], clock: Clock, first_delay_s: float
) -> int:
    rows = await connection.execute(
        select(webhook_endpoints).where(webhook_endpoints.c.enabled.is_(True))
    )
    endpoints = [Endpoint.from_row(row) for row in rows]
    now = clock.now()
    due = now + timedelta(seconds=first_delay_s)
    values = [
        {
            "endpoint_id": endpoint.id,
            "event_id": event.id,
            "event_type": event.type,
            "event_time": event.time,
            "ordering_key": event.partitionkey if endpoint.ordered else None,
            "payload": event.model_dump_json(),
            "status": "pending",
            "attempts": 0,
            "next_attempt_at": due,
            "created_at": now,
        }
        for event in events
        for endpoint in endpoints
        if endpoint.matches(event)
    ]
    if not values:
        return 0
    # RETURNING yields only the rows really inserted (rowcount is unreliable for batches)
    result = await connection.execute(
        _insert_ignoring_duplicates(connection).returning(webhook_deliveries.c.id), values
    )
    return len(result.all())
