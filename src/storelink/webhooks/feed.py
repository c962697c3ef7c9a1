"""Feeding deliveries from the bus: a consumer group whose handler fans events out.

::

    consumer = delivery_consumer(log, engine, dispatcher=dispatcher)
    await asyncio.gather(consumer.run(stop), dispatcher.run(stop))
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncEngine

from storelink.bus import Consumer, EventLog, Handler
from storelink.model import Event
from storelink.webhooks.clock import Clock, SystemClock
from storelink.webhooks.dispatcher import Dispatcher
from storelink.webhooks.fanout import fanout

GROUP = "webhooks"


def delivery_handler(
    engine: AsyncEngine, *, dispatcher: Dispatcher | None = None, clock: Clock | None = None
) -> Handler:
    """A bus handler that creates an event's deliveries and wakes the dispatcher.

    Fan-out commits before the wake-up so the dispatcher finds the new rows; it
    is idempotent, so a redelivered event creates nothing twice.
    """
    when = clock or SystemClock()

    async def handle(event: Event) -> None:
        if await fanout(engine, event, clock=when) and dispatcher is not None:
            dispatcher.wake()

    return handle


def delivery_consumer(
    log: EventLog,
    engine: AsyncEngine,
    *,
    dispatcher: Dispatcher | None = None,
    clock: Clock | None = None,
    types: Sequence[str] = ("storelink.*",),
    fetch_wait_s: float = 1.0,
) -> Consumer:
    """The ``webhooks`` consumer group of ``log``."""
    return Consumer(
        log,
        engine,
        group=GROUP,
        handler=delivery_handler(engine, dispatcher=dispatcher, clock=clock),
        types=types,
        fetch_wait_s=fetch_wait_s,
    )
