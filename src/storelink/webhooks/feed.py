"""Feeding deliveries from the bus: the ``webhooks`` consumer group fans events out.

Used by the hub and by ``storelink webhooks worker``::

    feed = WebhookFeed(log, engine, dispatcher)
    await asyncio.gather(feed.run(stop), dispatcher.run(stop))

Each fetched batch becomes deliveries in one database transaction, then is
acked. :func:`~storelink.webhooks.fanout.fanout` inserts at most one delivery
per endpoint and event id (a unique index), so a batch redelivered after a
crash between commit and ack adds nothing — no per-event dedup mark and no
commit per event (each commit is an fsync on SQLite, which would cap fan-out
at a few hundred events/s).
"""

from __future__ import annotations

import asyncio
import contextlib

from sqlalchemy.ext.asyncio import AsyncEngine

from storelink.bus import EventLog, Subscription
from storelink.ops.logging import get_logger
from storelink.webhooks.clock import Clock, SystemClock
from storelink.webhooks.dispatcher import Dispatcher
from storelink.webhooks.fanout import fanout

GROUP = "webhooks"
_log = get_logger("storelink.webhooks")


class WebhookFeed:
    """Turns logged events into webhook deliveries and wakes the dispatcher."""

    def __init__(
        self,
        event_log: EventLog,
        engine: AsyncEngine,
        dispatcher: Dispatcher | None = None,
        *,
        clock: Clock | None = None,
        batch: int = 500,
        fetch_wait_s: float = 0.2,
        ack_wait_s: float = 30.0,
    ) -> None:
        self.log = event_log
        self.engine = engine
        self.dispatcher = dispatcher
        self.clock = clock or SystemClock()
        self.subscription = Subscription(GROUP, ("*",), ack_wait_s=ack_wait_s)
        self.batch = batch
        self.fetch_wait_s = fetch_wait_s
        self._subscribed = False

    async def run_once(self) -> int:
        """Fan out one fetched batch; the number of events handled."""
        if not self._subscribed:
            await self.log.subscribe(self.subscription)
            self._subscribed = True
        deliveries = await self.log.fetch(GROUP, batch=self.batch, wait_s=self.fetch_wait_s)
        if not deliveries:
            return 0
        async with self.engine.begin() as connection:
            created = await fanout(connection, [d.event for d in deliveries], clock=self.clock)
        await self.log.ack(deliveries)
        if created and self.dispatcher is not None:
            self.dispatcher.wake()
        return len(deliveries)

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                await self.run_once()
            except Exception:  # keep fanning out; unacked events come back after ack_wait
                _log.exception("webhooks.feed_failed")
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=1.0)
