"""Folding bus events back into the API's order and return status.

A bus consumer calls :func:`apply_order_event` for each event it reads; events
for unknown orders or of other types are ignored, and a status never moves
backwards, so redelivered or out-of-order events are harmless.
"""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from storelink.api.tables import api_orders, api_returns
from storelink.model import Event
from storelink.model.events import EventType
from storelink.model.orders import Order, OrderStatus, Shipment
from storelink.model.sales import Return

#: how far along an order is; an event only ever moves an order forward
_RANK = {
    OrderStatus.RECEIVED: 0,
    OrderStatus.CONFIRMED: 1,
    OrderStatus.SHIPPED: 2,
    OrderStatus.CANCELLED: 3,
}
_ORDER_STATUS = {
    EventType.ORDER_CONFIRMED: OrderStatus.CONFIRMED,
    EventType.ORDER_CANCELLED: OrderStatus.CANCELLED,
    EventType.SHIPMENT_DONE: OrderStatus.SHIPPED,
}
RETURN_RECORDED, RETURN_COMPLETED = "recorded", "completed"


async def apply_order_event(engine: AsyncEngine, event: Event) -> bool:
    """Apply an order or return event; True when it changed a stored status."""
    if event.type == EventType.RETURN_COMPLETED:
        return await _complete_return(engine, event)
    status = _ORDER_STATUS.get(EventType(event.type)) if event.type in _ORDER_STATUS else None
    if status is None:
        return False
    payload = event.payload()
    order_id = payload.order_id if isinstance(payload, Shipment) else getattr(payload, "id", None)
    if order_id is None:
        return False
    async with engine.begin() as connection:
        row = (
            await connection.execute(
                select(api_orders.c.status, api_orders.c.payload).where(api_orders.c.id == order_id)
            )
        ).first()
        if row is None or _RANK[OrderStatus(row.status)] >= _RANK[status]:
            return False
        stored = Order.model_validate_json(row.payload)
        fresh = payload if isinstance(payload, Order) else stored
        updated = fresh.model_copy(update={"status": status})
        await connection.execute(
            update(api_orders)
            .where(api_orders.c.id == order_id, api_orders.c.status == row.status)
            .values(status=status.value, payload=updated.model_dump_json(), updated_at=event.time)
        )
    return True


async def _complete_return(engine: AsyncEngine, event: Event) -> bool:
    payload = event.payload()
    assert isinstance(payload, Return)
    async with engine.begin() as connection:
        result = await connection.execute(
            update(api_returns)
            .where(api_returns.c.id == str(payload.id), api_returns.c.status == RETURN_RECORDED)
            .values(status=RETURN_COMPLETED, updated_at=event.time)
        )
    return bool(result.rowcount)
