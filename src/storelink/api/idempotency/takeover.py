"""What a request does when it takes over the claim of a worker that died running it.

The first attempt may have taken effect before its worker died (the order is in
the database, its answer never stored) or not. A takeover never lets the effect
happen twice; per route, in this order:

1. **Effect check** (:data:`EFFECT_CHECKS`): routes whose effect is keyed by the
   request's content look for it. ``POST /v1/orders`` looks up the channel's
   order number (``channel``, ``external_ref``), ``POST /v1/returns`` the return's
   id (the till's transaction uuid). Found with the same content: the first
   attempt did it, and its answer (201, the resource as it is now) is stored and
   sent. Not found: the first attempt changed nothing (its row and its event
   commit in one transaction), and the request runs again; should the first
   attempt commit after all, the unique key turns the second into a 409.
2. **Rerun**: a route that is idempotent by content itself (setting a state, such
   as enabling an endpoint) declares ``openapi_extra={TAKEOVER: RERUN}`` and runs again.
3. **Outcome unknown** — every other route (customers, API clients, signing keys,
   webhook endpoints, secret rotations, replays): their effects get fresh ids, so
   nothing tells whether the first attempt happened. The key is marked unknown and
   answered 409 ``…/idempotency-outcome-unknown`` until it expires: the client
   checks (lists what it created) and resends with a new key only if it is absent.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from fastapi.routing import APIRoute
from pydantic import ValidationError
from sqlalchemy import select

from storelink.api.idempotency.claims import Answer
from storelink.api.orders import OrderCreate, OrderView
from storelink.api.principal import Principal, Role
from storelink.api.returns import ReturnView
from storelink.api.security import can_see_store
from storelink.api.state import HubState
from storelink.api.tables import api_orders, api_returns
from storelink.model.orders import Order
from storelink.model.sales import Return

#: ``openapi_extra`` key of a route that may simply run again after a takeover
TAKEOVER = "x-storelink-takeover"
RERUN = "rerun"

#: what the first attempt left, as its answer; None when it left nothing
EffectCheck = Callable[[HubState, Principal, bytes], Awaitable[Answer | None]]


@dataclass(frozen=True)
class Rerun:
    """Run the request: nothing it does can happen twice."""


@dataclass(frozen=True)
class Replay:
    """The first attempt took effect: answer this."""

    answer: Answer


@dataclass(frozen=True)
class Unknown:
    """Whether the first attempt took effect cannot be known."""


Resolution = Rerun | Replay | Unknown


async def resolve(route: APIRoute, hub: HubState, principal: Principal, body: bytes) -> Resolution:
    """What the taker of a dead claim on ``route`` does; see the module docstring."""
    check = EFFECT_CHECKS.get(route.path)
    if check is not None:
        answer = await check(hub, principal, body)
        return Rerun() if answer is None else Replay(answer)
    if (route.openapi_extra or {}).get(TAKEOVER) == RERUN:
        return Rerun()
    return Unknown()


async def order_effect(hub: HubState, principal: Principal, body: bytes) -> Answer | None:
    """The channel order this request would have created, if it exists with its content."""
    try:
        asked = OrderCreate.model_validate_json(body)
    except ValidationError:
        return None  # the route refuses it (422): nothing was written
    # the route's own rule: a channel token orders for its channel, others name one
    channel = principal.channel if principal.role is Role.CHANNEL else asked.channel
    if channel is None or asked.channel not in (None, channel):
        return None  # the route refuses it (422)
    async with hub.engine.connect() as connection:
        row = (
            await connection.execute(
                select(api_orders).where(
                    (api_orders.c.channel == channel)
                    & (api_orders.c.external_ref == asked.external_ref)
                )
            )
        ).first()
    if row is None:
        return None
    order = Order.model_validate_json(row.payload)
    same = {"currency", "lines", "customer_id", "fulfil_from"}
    if order.model_dump(include=same) != asked.model_dump(include=same):
        return None  # another request's order under this number: the route answers 409
    view = OrderView(order=order, updated_at=row.updated_at)
    return Answer.resource(201, view, f"/v1/orders/{order.id}")


async def return_effect(hub: HubState, principal: Principal, body: bytes) -> Answer | None:
    """The return this request would have recorded (its id is the till's uuid), if it exists."""
    try:
        asked = Return.model_validate_json(body)
    except ValidationError:
        return None
    async with hub.engine.connect() as connection:
        row = (
            await connection.execute(select(api_returns).where(api_returns.c.id == str(asked.id)))
        ).first()
    if row is None:
        return None
    recorded = Return.model_validate_json(row.payload)
    if not can_see_store(principal, recorded.store) or recorded.model_dump() != asked.model_dump():
        return None  # another store's, or another return under this id: the route refuses it
    view = ReturnView(status=row.status, record=recorded, updated_at=row.updated_at)
    return Answer.resource(201, view, f"/v1/returns/{recorded.id}")


#: effect checks by route path (the api part's routes keyed by their content)
EFFECT_CHECKS: dict[str, EffectCheck] = {
    "/v1/orders": order_effect,
    "/v1/returns": return_effect,
}
