"""The consumer helper: handlers that see each event once, in order per key.

A :class:`Consumer` reads one group of an :class:`~storelink.bus.EventLog`,
calls ``handler(event)`` for each delivery and acks it. Effects happen once:
an event id the group already handled (a redelivery, a relay duplicate, a
replay) is acked without calling the handler, using the ``processed_events``
table in the hub database. Up to ``concurrency`` handlers run at once, each on
a different key; deliveries of one key in a batch are handled one after
another. A failing handler is retried per the
:class:`~storelink.bus.RetryPolicy`; when attempts run out the event goes to
the dead letters with the last error.

With ``transactional=True`` the handler runs inside the transaction that
records the event id; a handler writing to the hub database uses
:func:`current_connection` so its writes and the dedup mark commit together::

    async def apply(event: Event) -> None:
        await current_connection().execute(insert(movements).values(...))

    consumer = Consumer(log, engine, group="stock", handler=apply,
                        types=("storelink.stock.*",), transactional=True)
    await consumer.run(stop)
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Sequence
from contextvars import ContextVar
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from storelink.bus.backend import Delivery, EventLog, Subscription
from storelink.bus.metrics import HANDLE_SECONDS
from storelink.bus.retry import RetryPolicy
from storelink.bus.tables import processed_events
from storelink.bus.worker import idle
from storelink.config.sections import BusSettings
from storelink.errors import ConsumerError
from storelink.model import Event, utcnow
from storelink.ops.logging import get_logger

Handler = Callable[[Event], Awaitable[None]]

_connection: ContextVar[AsyncConnection | None] = ContextVar("bus_connection", default=None)
logger = get_logger(__name__)


def current_connection() -> AsyncConnection:
    """The connection of the transaction a transactional handler runs in."""
    connection = _connection.get()
    if connection is None:
        raise ConsumerError("current_connection() used outside a transactional handler")
    return connection


class Consumer:
    """Runs ``handler`` for one consumer group; see the module docstring."""

    def __init__(
        self,
        log: EventLog,
        engine: AsyncEngine,
        *,
        group: str,
        handler: Handler,
        types: Sequence[str] = ("*",),
        retry: RetryPolicy | None = None,
        ack_wait_s: float = 30.0,
        batch: int = 100,
        fetch_wait_s: float = 1.0,
        transactional: bool = False,
        concurrency: int = 1,
        processed_retention_s: float = 14 * 86_400,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.log = log
        self.engine = engine
        self.group = group
        self.handler = handler
        self.retry = retry or RetryPolicy()
        self.subscription = Subscription(
            group, tuple(types), ack_wait_s=ack_wait_s, max_deliver=self.retry.max_attempts
        )
        self.batch = batch
        self.fetch_wait_s = fetch_wait_s
        self.transactional = transactional
        if concurrency < 1:
            raise ValueError("concurrency must be at least 1")
        self.concurrency = concurrency
        self.processed_retention_s = processed_retention_s
        self.clock = clock
        self._subscribed = False

    @classmethod
    def configured(
        cls,
        settings: BusSettings,
        log: EventLog,
        engine: AsyncEngine,
        *,
        group: str,
        handler: Handler,
        **options: Any,
    ) -> Consumer:
        """A consumer following ``[bus]``: ack wait, deliveries before the dead letters
        (``max_deliver``) and how long processed ids are kept for dedup."""
        return cls(
            log,
            engine,
            group=group,
            handler=handler,
            retry=RetryPolicy(max_attempts=settings.max_deliver),
            ack_wait_s=settings.ack_wait_s,
            processed_retention_s=settings.processed_retention_s,
            **options,
        )

    async def start(self) -> None:
        """Create the group in the log (idempotent; ``run_once`` does it on first use)."""
        if not self._subscribed:
            await self.log.subscribe(self.subscription)
            self._subscribed = True

    async def run_once(self) -> int:
        """Fetch one batch and handle it; returns how many deliveries were settled."""
        await self.start()
        deliveries = await self.log.fetch(self.group, batch=self.batch, wait_s=self.fetch_wait_s)
        if self.concurrency == 1:
            settled = {id(delivery): await self._handle(delivery) for delivery in deliveries}
        else:
            settled = await self._handle_by_key(deliveries)
        done = [delivery for delivery in deliveries if settled[id(delivery)]]
        if done:
            await self.log.ack(done)
        return len(deliveries)

    async def _handle_by_key(self, deliveries: Sequence[Delivery]) -> dict[int, bool]:
        """Different keys concurrently, each key's deliveries one after another in batch order.

        A log hands out one delivery per key at a time, but a NATS retried dead
        letter may share its batch with a live event of its key: this keeps them apart.
        """
        by_key: dict[str, list[Delivery]] = {}
        for delivery in deliveries:
            by_key.setdefault(delivery.partitionkey, []).append(delivery)
        limit = asyncio.Semaphore(self.concurrency)
        settled: dict[int, bool] = {}

        async def handle_key(queue: list[Delivery]) -> None:
            for delivery in queue:
                async with limit:
                    settled[id(delivery)] = await self._handle(delivery)

        await asyncio.gather(*(handle_key(queue) for queue in by_key.values()))
        return settled

    async def run(self, stop: asyncio.Event) -> None:
        """Handle batches until ``stop`` is set; prunes old processed ids now and then."""
        last_prune = 0.0
        while not stop.is_set():
            if time.monotonic() - last_prune > 3600:
                await self.prune_processed()
                last_prune = time.monotonic()
            try:
                await self.run_once()
            except Exception:  # keep consuming; the failure is logged and metered
                logger.exception("bus.consumer.batch_failed", group=self.group)
                await idle(stop, 1.0)

    async def prune_processed(self) -> int:
        """Forget processed ids older than the retention; returns how many were removed."""
        cutoff = self.clock() - timedelta(seconds=self.processed_retention_s)
        async with self.engine.begin() as connection:
            result = await connection.execute(
                delete(processed_events).where(
                    processed_events.c.group_name == self.group,
                    processed_events.c.processed_at < cutoff,
                )
            )
        return int(result.rowcount or 0)

    async def _handle(self, delivery: Delivery) -> bool:
        """Run the handler unless already done; True when the delivery can be acked."""
        started = time.perf_counter()
        try:
            if self.transactional:
                await self._handle_in_transaction(delivery)
            else:
                await self._handle_then_mark(delivery)
        except Exception as exc:
            error = f"{type(exc).__name__}: {exc}"
            if delivery.attempt >= self.retry.max_attempts:
                await self.log.dead_letter(delivery, error=error)
            else:
                await self.log.nack(delivery, delay=self.retry.delay(delivery.attempt), error=error)
            logger.warning(
                "bus.consumer.handler_failed",
                group=self.group,
                event_id=delivery.event_id,
                attempt=delivery.attempt,
                error=error,
            )
            return False
        finally:
            HANDLE_SECONDS.labels(self.group).observe(time.perf_counter() - started)
        return True

    async def _handle_then_mark(self, delivery: Delivery) -> None:
        async with self.engine.connect() as connection:
            seen = await connection.scalar(
                select(processed_events.c.event_id).where(
                    processed_events.c.group_name == self.group,
                    processed_events.c.event_id == delivery.event_id,
                )
            )
        if seen is not None:
            return
        await self.handler(delivery.event)
        async with self.engine.begin() as connection:
            await self._mark(connection, delivery)

    async def _handle_in_transaction(self, delivery: Delivery) -> None:
        async with self.engine.begin() as connection:
            if not await self._mark(connection, delivery):
                return
            token = _connection.set(connection)
            try:
                await self.handler(delivery.event)
            finally:
                _connection.reset(token)

    async def _mark(self, connection: AsyncConnection, delivery: Delivery) -> bool:
        """Record the event id as processed; False when it already was."""
        values = {
            "group_name": self.group,
            "event_id": delivery.event_id,
            "processed_at": self.clock(),
        }
        statement: Any
        if connection.dialect.name == "postgresql":
            statement = postgresql.insert(processed_events).values(values)
        else:
            statement = sqlite.insert(processed_events).values(values)
        result = await connection.execute(statement.on_conflict_do_nothing())
        return bool(result.rowcount)
