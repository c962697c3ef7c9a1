"""``/v1/products`` and ``/v1/prices``: catalogue lookups from the hub's read model.

Answers come from the tables change capture keeps current (never a call to
Odoo per request). A store's effective price is its own store price if one is
valid at the time asked, else its pricelist's; a channel's is the channel price.
Among valid prices of a scope the highest version wins.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request
from pydantic import BaseModel
from sqlalchemy import (
    BindParameter,
    ColumnElement,
    Select,
    and_,
    bindparam,
    case,
    literal,
    or_,
    select,
)

from storelink.api.pagination import decode_cursor, encode_cursor
from storelink.api.principal import Principal, Role
from storelink.api.reads import Reader
from storelink.api.security import ensure_channel_access, ensure_store_access, require_role
from storelink.api.state import HubState, hub_state
from storelink.db.tables import prices, products, stores
from storelink.errors import NotFoundError, ValidationError
from storelink.model.types import Code, Money

router = APIRouter(prefix="/v1", tags=["catalog"])

#: every role may look up the catalogue; scoping applies to store and channel prices
ANY_ROLE = require_role(Role.STORE, Role.CHANNEL, Role.PARTNER, Role.SUPPORT)

SkuPath = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._\-/]+$")]


class ProductView(BaseModel):
    sku: str
    name: str
    barcode: str | None
    uom: str
    tax_class: str
    category: str | None
    active: bool
    updated_at: datetime


class ProductPage(BaseModel):
    items: list[ProductView]
    #: pass as ``cursor`` for the next page; null on the last page
    next_cursor: str | None


class PriceScopeView(BaseModel):
    kind: str
    code: str


class EffectivePrice(BaseModel):
    sku: str
    amount: Money
    currency: str
    scope: PriceScopeView
    version: int
    valid_from: datetime
    valid_to: datetime | None
    #: the instant the price was resolved for
    at: datetime


def _product(row: object) -> ProductView:
    return ProductView.model_validate(row, from_attributes=True)


@router.get("/products", summary="List products (cursor pagination, filters)")
async def list_products(
    cursor: Annotated[str | None, Query(max_length=256)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    category: Annotated[str | None, Query(max_length=128)] = None,
    active: bool | None = None,
    _principal: Principal = Depends(ANY_ROLE),
    state: HubState = Depends(hub_state),
) -> ProductPage:
    query = select(products).order_by(products.c.sku).limit(limit + 1)
    after = decode_cursor(cursor)
    if after is not None:
        query = query.where(products.c.sku > after)
    if category is not None:
        query = query.where(products.c.category == category)
    if active is not None:
        query = query.where(products.c.active == active)
    rows = await state.reader.all(query)
    items = [_product(row) for row in rows[:limit]]
    more = len(rows) > limit
    return ProductPage(items=items, next_cursor=encode_cursor(items[-1].sku) if more else None)


@router.get("/products/by-barcode/{barcode}", summary="Find a product by barcode")
async def product_by_barcode(
    barcode: Annotated[str, Path(pattern=r"^[0-9A-Za-z\-]{4,32}$")],
    _principal: Principal = Depends(ANY_ROLE),
    state: HubState = Depends(hub_state),
) -> ProductView:
    row = await state.reader.first(select(products).where(products.c.barcode == barcode))
    if row is None:
        raise NotFoundError(f"no product with barcode {barcode!r}", barcode=barcode)
    return _product(row)


@router.get("/products/{sku}", summary="Get a product by SKU")
async def product_by_sku(
    sku: SkuPath,
    _principal: Principal = Depends(ANY_ROLE),
    state: HubState = Depends(hub_state),
) -> ProductView:
    row = await state.reader.first(select(products).where(products.c.sku == sku))
    if row is None:
        raise NotFoundError(f"no product {sku!r}", sku=sku)
    return _product(row)


def _valid() -> ColumnElement[bool]:
    at: BindParameter[datetime] = bindparam("at")
    return and_(
        prices.c.sku == bindparam("sku"),
        prices.c.valid_from <= at,
        or_(prices.c.valid_to.is_(None), prices.c.valid_to > at),
    )


def _price_query(scope: ColumnElement[bool], own_first: ColumnElement[Any]) -> Select[Any]:
    return (
        select(prices).where(_valid(), scope).order_by(own_first, prices.c.version.desc()).limit(1)
    )


# built once (parameters ``sku``, ``at`` and ``store`` or ``channel``): composing a
# statement costs more than running the indexed lookup
_CHANNEL_PRICE = _price_query(
    and_(prices.c.scope_kind == "channel", prices.c.scope_code == bindparam("channel")),
    literal(0),
)
# a store's own price sorts before its pricelist's
_STORE_PRICE = _price_query(
    or_(
        and_(prices.c.scope_kind == "store", prices.c.scope_code == bindparam("store")),
        and_(
            prices.c.scope_kind == "pricelist",
            prices.c.scope_code
            == select(stores.c.pricelist)
            .where(stores.c.code == bindparam("store"))
            .scalar_subquery(),
        ),
    ),
    case((prices.c.scope_kind == "store", 0), else_=1),
)


async def effective_price(
    reader: Reader, sku: str, *, store: str | None, channel: str | None, at: datetime
) -> EffectivePrice | None:
    """The price of ``sku`` for a store (own price, else its pricelist's) or a channel.

    One query either way: a store's own price sorts before its pricelist's.
    """
    if channel is not None:
        row = await reader.first(_CHANNEL_PRICE, {"sku": sku, "at": at, "channel": channel})
    else:
        assert store is not None
        row = await reader.first(_STORE_PRICE, {"sku": sku, "at": at, "store": store})
    if row is None:
        return None
    return EffectivePrice(
        sku=row.sku,
        amount=Decimal(row.amount),
        currency=row.currency,
        scope=PriceScopeView(kind=row.scope_kind, code=row.scope_code),
        version=row.version,
        valid_from=row.valid_from,
        valid_to=row.valid_to,
        at=at,
    )


@router.get("/prices/{sku}", summary="Effective price of a SKU for a store or channel at a time")
async def price_of(
    sku: SkuPath,
    request: Request,
    store: Annotated[
        Code | None, Query(description="Store code (stores default to their own)")
    ] = None,
    channel: Annotated[Code | None, Query(description="Sales channel code")] = None,
    at: Annotated[
        datetime | None, Query(description="Instant (ISO 8601 with offset); default now")
    ] = None,
    principal: Principal = Depends(ANY_ROLE),
) -> EffectivePrice:
    # the hub state straight from the app: one dependency less on the hottest lookup
    state: HubState = request.app.state.hub
    if store is None and channel is None:
        # a store or channel token asks about itself unless it says otherwise
        store, channel = principal.store, None if principal.store else principal.channel
    if (store is None) == (channel is None):
        raise ValidationError("give exactly one of store and channel", field="store")
    if at is not None and at.tzinfo is None:
        raise ValidationError("at needs a UTC offset", field="at")
    if store is not None:
        ensure_store_access(principal, store)
    if channel is not None:
        ensure_channel_access(principal, channel)
    when = at or state.clock()
    found = await effective_price(state.reader, sku, store=store, channel=channel, at=when)
    if found is None:
        raise NotFoundError(f"no price for {sku!r} at that time", sku=sku)
    return found
