"""``/v1/stores``: the estate's stores, their status and how far their sync lags.

Sync lag is the age of the store's oldest uploaded transaction not yet written
to Odoo (0 when none); ``last_contact_at`` is when its agent last reached the hub (its polls
for deltas are recorded to within ``DOWNLOAD_CONTACT_RESOLUTION_S``, uploads exactly).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Path
from pydantic import BaseModel
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from storelink.api.principal import Principal, Role
from storelink.api.security import ensure_store_access, require_role
from storelink.api.state import HubState, hub_state
from storelink.db.tables import stores
from storelink.errors import NotFoundError
from storelink.sync.tables import store_contacts, sync_transactions
from storelink.sync.uploads import RECORDED

router = APIRouter(prefix="/v1", tags=["stores"])

STORE_READERS = require_role(Role.STORE, Role.SUPPORT)
StorePath = Annotated[str, Path(min_length=1, max_length=32, pattern=r"^[A-Za-z0-9_\-]+$")]


class StoreView(BaseModel):
    code: str
    name: str
    location: str
    currency: str
    timezone: str
    pricelist: str | None
    active: bool
    updated_at: datetime


class StoreStatus(StoreView):
    last_contact_at: datetime | None
    #: uploaded transactions not yet written to Odoo
    backlog: int
    #: age in seconds of the oldest of them (0 when none)
    sync_lag_s: float


@router.get("/stores", summary="List the stores the caller may see")
async def list_stores(
    principal: Principal = Depends(STORE_READERS),
    state: HubState = Depends(hub_state),
) -> list[StoreView]:
    query = select(stores).order_by(stores.c.code)
    if principal.role is Role.STORE:
        query = query.where(stores.c.code == (principal.store or ""))
    async with state.engine.connect() as connection:
        rows = (await connection.execute(query)).all()
    return [StoreView.model_validate(row, from_attributes=True) for row in rows]


async def _status(connection: AsyncConnection, code: str, now: datetime) -> StoreStatus | None:
    row = (await connection.execute(select(stores).where(stores.c.code == code))).first()
    if row is None:
        return None
    contact = (
        await connection.execute(
            select(store_contacts.c.last_contact_at).where(store_contacts.c.store == code)
        )
    ).scalar_one_or_none()
    backlog, oldest = (
        await connection.execute(
            select(func.count(), func.min(sync_transactions.c.received_at)).where(
                sync_transactions.c.store == code, sync_transactions.c.status == RECORDED
            )
        )
    ).one()
    if isinstance(oldest, datetime) and oldest.tzinfo is None:
        oldest = oldest.replace(tzinfo=now.tzinfo)
    lag = max(0.0, (now - oldest).total_seconds()) if isinstance(oldest, datetime) else 0.0
    view = StoreView.model_validate(row, from_attributes=True)
    return StoreStatus(
        **view.model_dump(), last_contact_at=contact, backlog=int(backlog), sync_lag_s=lag
    )


@router.get("/stores/{code}", summary="A store's status and sync lag")
async def store_status(
    code: StorePath,
    principal: Principal = Depends(STORE_READERS),
    state: HubState = Depends(hub_state),
) -> StoreStatus:
    ensure_store_access(principal, code)
    async with state.engine.connect() as connection:
        status = await _status(connection, code, state.clock())
    if status is None:
        raise NotFoundError(f"no store {code!r}", store=code)
    return status
