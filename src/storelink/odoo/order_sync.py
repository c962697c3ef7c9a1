"""The ``OrderSync`` worker: channel orders from the event log into Odoo.

Reads ``storelink.order.created.v1`` in the consumer group ``odoo-order-sync``,
places each order as a confirmed ``sale.order`` (idempotent on
``client_order_ref``, see :mod:`storelink.odoo.orders`) and publishes
``storelink.order.confirmed.v1`` through the outbox. The confirmation's event id
is derived from the created event's id, so a redelivery after a crash finds
the order in Odoo and the confirmation already queued, and adds nothing.
"""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from storelink.bus import Consumer, EventLog, RetryPolicy, enqueue
from storelink.config.sections import BusSettings
from storelink.model import Event, EventType, Order, OrderStatus, order_key
from storelink.odoo.connector import OdooConnector

GROUP = "odoo-order-sync"
_NAMESPACE = uuid.UUID("9c3a4d52-1f0b-4c7e-8f43-51d2b0f0a7e1")


def confirmation_id(created_event_id: str) -> str:
    return str(uuid.uuid5(_NAMESPACE, created_event_id))


class OrderSync:
    """Consumer of created orders; ``run_once``/``run`` like every worker."""

    def __init__(
        self,
        log: EventLog,
        engine: AsyncEngine,
        connector: OdooConnector,
        *,
        bus: BusSettings | None = None,
        retry: RetryPolicy | None = None,
        fetch_wait_s: float = 1.0,
    ) -> None:
        self.engine = engine
        self.odoo = connector
        options: dict[str, Any] = {"types": (EventType.ORDER_CREATED.value,)}
        options["fetch_wait_s"] = fetch_wait_s
        if retry is not None:
            options["retry"] = retry
        self.consumer = Consumer.configured(
            bus or BusSettings(), log, engine, group=GROUP, handler=self.handle, **options
        )

    async def handle(self, event: Event) -> None:
        order = event.payload()
        if not isinstance(order, Order):
            raise TypeError(f"{event.type} does not carry an Order")
        (result,) = await self.odoo.create_channel_orders([order])
        confirmed = order.model_copy(update={"status": OrderStatus.CONFIRMED})
        message = Event.of(
            EventType.ORDER_CONFIRMED,
            confirmed,
            source="/odoo",
            partitionkey=order_key(order.id),
            subject=result.name,
            traceparent=event.traceparent,
            id=confirmation_id(event.id),
        )
        try:
            async with self.engine.begin() as connection:
                await enqueue(connection, [message])
        except IntegrityError:
            pass  # queued by an earlier delivery of the same event

    async def run_once(self) -> int:
        return await self.consumer.run_once()

    async def run(self, stop: asyncio.Event) -> None:
        await self.consumer.run(stop)
