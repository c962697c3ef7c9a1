"""``/v1/returns``: returns recorded at a store, sent on to Odoo through the bus.

``POST`` stores the return and enqueues ``storelink.return.recorded.v1`` in one
transaction. The return's ``id`` is the till's transaction uuid: a second
return with the same id is a 409. A store token records only its own returns.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal
from uuid import UUID

from fastapi import APIRouter, Depends, Path, Response
from pydantic import BaseModel
from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError

from storelink.api.events import RETURN_RECORDED
from storelink.api.principal import Principal, Role
from storelink.api.security import can_see_store, ensure_store_access, require_role
from storelink.api.state import HubState, hub_state
from storelink.api.tables import api_returns
from storelink.bus.outbox import enqueue
from storelink.errors import ConflictError, NotFoundError
from storelink.model import Event
from storelink.model.events import EventType
from storelink.model.sales import Return

router = APIRouter(prefix="/v1", tags=["returns"])


class ReturnView(BaseModel):
    status: Literal["recorded", "completed"]
    record: Return
    updated_at: datetime


@router.post("/returns", status_code=201, summary="Record a return")
async def create_return(
    body: Return,
    response: Response,
    principal: Principal = Depends(require_role(Role.STORE)),
    state: HubState = Depends(hub_state),
) -> ReturnView:
    ensure_store_access(principal, body.store)
    now = state.clock()
    event = Event.of(
        EventType.RETURN_RECORDED,
        body,
        source=f"/stores/{body.store}",
        partitionkey=f"return:{body.store}:{body.id}",
        subject=str(body.id),
    )
    try:
        async with state.engine.begin() as connection:
            await connection.execute(
                insert(api_returns).values(
                    id=str(body.id),
                    store=body.store,
                    status=RETURN_RECORDED,
                    payload=body.model_dump_json(),
                    created_at=now,
                    updated_at=now,
                )
            )
            await enqueue(connection, [event])
    except IntegrityError as exc:
        raise ConflictError(f"return {body.id} is already recorded", id=str(body.id)) from exc
    response.headers["Location"] = f"/v1/returns/{body.id}"
    return ReturnView(status=RETURN_RECORDED, record=body, updated_at=now)


@router.get("/returns/{return_id}", summary="A return and its status")
async def get_return(
    return_id: Annotated[UUID, Path()],
    principal: Principal = Depends(require_role(Role.STORE, Role.SUPPORT)),
    state: HubState = Depends(hub_state),
) -> ReturnView:
    async with state.engine.connect() as connection:
        row = (
            await connection.execute(select(api_returns).where(api_returns.c.id == str(return_id)))
        ).first()
    if row is None or not can_see_store(principal, row.store):
        raise NotFoundError(f"no return {return_id}", id=str(return_id))
    return ReturnView(
        status=row.status, record=Return.model_validate_json(row.payload), updated_at=row.updated_at
    )
