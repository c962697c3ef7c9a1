"""``/v1/stock``: availability of a SKU across locations, or a location's positions.

Answers from ``stock_positions`` (kept current by change capture and store
uploads). A store token sees only its own store's locations; asking for another
store's location is a 404.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request
from pydantic import BaseModel
from sqlalchemy import ColumnElement, Row, Select, bindparam, select, union

from storelink.api.catalog import ANY_ROLE, SkuPath
from storelink.api.pagination import decode_cursor, encode_cursor
from storelink.api.principal import Principal, Role
from storelink.api.reads import Reader
from storelink.api.state import HubState, hub_state
from storelink.db.tables import locations, stock_positions, stores
from storelink.errors import NotFoundError
from storelink.model.types import Quantity

router = APIRouter(prefix="/v1", tags=["stock"])

LocationPath = Annotated[str, Path(min_length=1, max_length=32, pattern=r"^[A-Za-z0-9_\-]+$")]


class PositionView(BaseModel):
    sku: str
    location: str
    on_hand: Quantity
    reserved: Quantity
    available: Quantity
    as_of: datetime


class Availability(BaseModel):
    sku: str
    available_total: Quantity
    positions: list[PositionView]


class LocationStock(BaseModel):
    location: str
    items: list[PositionView]
    next_cursor: str | None


def _view(row: Row[Any]) -> PositionView:
    on_hand = Decimal(row.on_hand)
    reserved = Decimal(row.reserved)
    return PositionView(
        sku=row.sku,
        location=row.location,
        on_hand=on_hand,
        reserved=reserved,
        available=on_hand - reserved,
        as_of=row.as_of,
    )


def store_locations(store: str | ColumnElement[str]) -> Select[Any]:
    """The location codes that belong to ``store`` (its own and any tagged with it)."""
    return (
        union(
            select(stores.c.location).where(stores.c.code == store),
            select(locations.c.code).where(locations.c.store == store),
        )
        .subquery()
        .select()
    )


async def _visible(reader: Reader, principal: Principal, location: str) -> bool:
    if principal.role is not Role.STORE or principal.store is None:
        return True
    owned = await reader.all(store_locations(principal.store))
    return location in {row[0] for row in owned}


# built once: composing a statement costs more than running the indexed lookup
_ALL_POSITIONS = (
    select(stock_positions)
    .where(stock_positions.c.sku == bindparam("sku"))
    .order_by(stock_positions.c.location)
)
_STORE_POSITIONS = _ALL_POSITIONS.where(
    stock_positions.c.location.in_(store_locations(bindparam("store")))
)


@router.get("/stock/{sku}", summary="Availability of a SKU across locations")
async def availability(
    sku: SkuPath,
    request: Request,
    principal: Principal = Depends(ANY_ROLE),
) -> Availability:
    # the hub state straight from the app: one dependency less on the hottest lookup
    state: HubState = request.app.state.hub
    if principal.role is Role.STORE:
        rows = await state.reader.all(
            _STORE_POSITIONS, {"sku": sku, "store": principal.store or ""}
        )
    else:
        rows = await state.reader.all(_ALL_POSITIONS, {"sku": sku})
    views = [_view(row) for row in rows]
    return Availability(
        sku=sku,
        available_total=sum((view.available for view in views), Decimal(0)),
        positions=views,
    )


@router.get("/locations/{code}/stock", summary="Stock positions at one location")
async def location_stock(
    code: LocationPath,
    cursor: Annotated[str | None, Query(max_length=256)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
    principal: Principal = Depends(ANY_ROLE),
    state: HubState = Depends(hub_state),
) -> LocationStock:
    query = (
        select(stock_positions)
        .where(stock_positions.c.location == code)
        .order_by(stock_positions.c.sku)
        .limit(limit + 1)
    )
    after = decode_cursor(cursor)
    if after is not None:
        query = query.where(stock_positions.c.sku > after)
    reader = state.reader
    known = await reader.first(
        select(locations.c.code).where(locations.c.code == code)
    ) or await reader.first(select(stores.c.code).where(stores.c.location == code))
    if known is None or not await _visible(reader, principal, code):
        raise NotFoundError(f"no location {code!r}", location=code)
    rows = await reader.all(query)
    items = [_view(row) for row in rows[:limit]]
    more = len(rows) > limit
    return LocationStock(
        location=code, items=items, next_cursor=encode_cursor(items[-1].sku) if more else None
    )
