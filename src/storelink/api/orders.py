"""``/v1/orders``: channel orders captured by the hub and confirmed in Odoo through the bus.

``POST`` stores the order and enqueues ``storelink.order.created.v1`` in the same
transaction (promise 3); the Odoo connector confirms it and emits
``storelink.order.confirmed.v1``, which :func:`apply_order_event` folds back in.
``(channel, external_ref)`` is unique: a second order with the channel's same
number is a 409.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from uuid import uuid4

from fastapi import APIRouter, Depends, Path, Response
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError

from storelink.api.principal import Principal, Role
from storelink.api.security import can_see_channel, require_role
from storelink.api.state import HubState, hub_state
from storelink.api.tables import api_orders
from storelink.bus.outbox import enqueue
from storelink.errors import ConflictError, NotFoundError, ValidationError
from storelink.model import Event
from storelink.model.envelope import order_key
from storelink.model.events import EventType
from storelink.model.orders import Order, OrderLine
from storelink.model.types import Code, Currency

router = APIRouter(prefix="/v1", tags=["orders"])

OrderPath = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_\-]+$")]


class OrderCreate(BaseModel):
    """A new channel order. Channel tokens omit ``channel`` (it is theirs)."""

    model_config = ConfigDict(extra="forbid")

    channel: Code | None = None
    external_ref: str = Field(min_length=1, max_length=64)
    currency: Currency
    lines: list[OrderLine] = Field(min_length=1, max_length=500)
    customer_id: str | None = Field(default=None, max_length=64)
    fulfil_from: Code | None = None


class OrderView(BaseModel):
    order: Order
    updated_at: datetime


@router.post("/orders", status_code=201, summary="Capture a channel order")
async def create_order(
    body: OrderCreate,
    response: Response,
    principal: Principal = Depends(require_role(Role.CHANNEL)),
    state: HubState = Depends(hub_state),
) -> OrderView:
    channel = principal.channel if principal.role is Role.CHANNEL else body.channel
    if channel is None:
        raise ValidationError("channel is required for this client", field="/channel")
    if principal.role is Role.CHANNEL and body.channel not in (None, channel):
        raise ValidationError("a channel token may only order for its channel", field="/channel")
    now = state.clock()
    order = Order(
        id=f"ord_{uuid4().hex}",
        channel=channel,
        external_ref=body.external_ref,
        currency=body.currency,
        lines=body.lines,
        customer_id=body.customer_id,
        fulfil_from=body.fulfil_from,
        created_at=now,
    )
    event = Event.of(
        EventType.ORDER_CREATED,
        order,
        source=f"/channels/{channel}",
        partitionkey=order_key(order.id),
        subject=order.id,
    )
    try:
        async with state.engine.begin() as connection:
            await connection.execute(
                insert(api_orders).values(
                    id=order.id,
                    channel=channel,
                    external_ref=order.external_ref,
                    status=order.status.value,
                    payload=order.model_dump_json(),
                    created_at=now,
                    updated_at=now,
                )
            )
            await enqueue(connection, [event])
    except IntegrityError as exc:
        raise ConflictError(
            f"channel {channel!r} already has an order {order.external_ref!r}",
            channel=channel,
            external_ref=order.external_ref,
        ) from exc
    response.headers["Location"] = f"/v1/orders/{order.id}"
    return OrderView(order=order, updated_at=now)


@router.get("/orders/{order_id}", summary="An order and its status")
async def get_order(
    order_id: OrderPath,
    principal: Principal = Depends(require_role(Role.CHANNEL, Role.SUPPORT)),
    state: HubState = Depends(hub_state),
) -> OrderView:
    async with state.engine.connect() as connection:
        row = (
            await connection.execute(select(api_orders).where(api_orders.c.id == order_id))
        ).first()
    # the same answer for "absent" and "another channel's" (no existence leak)
    if row is None or not can_see_channel(principal, row.channel):
        raise NotFoundError(f"no order {order_id!r}", order=order_id)
    return OrderView(order=Order.model_validate_json(row.payload), updated_at=row.updated_at)
