"""``/v1/customers``: customers whose personal data is tokenized at rest.

Name, email, phone and address are replaced by vault tokens (:mod:`storelink.ops.pii`);
the owning channel and the integration admin see clear values (every such read
is audited), support sees them masked. A channel reaches only its own customers.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Annotated, Any
from uuid import uuid4

from fastapi import APIRouter, Depends, Path, Response
from pydantic import BaseModel, ConfigDict, EmailStr, Field
from sqlalchemy import Row, delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from storelink.api.auditing import audit_pii_read
from storelink.api.principal import Principal, Role
from storelink.api.security import can_see_channel, require_role, sees_pii
from storelink.api.state import HubState, hub_state
from storelink.api.tables import api_customers
from storelink.errors import NotFoundError, ValidationError
from storelink.model.parties import Address
from storelink.model.types import Code
from storelink.ops import audit
from storelink.ops.pii import Vault, mask

router = APIRouter(prefix="/v1", tags=["customers"])

CustomerPath = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_\-]+$")]
_PII_FIELDS = ("name", "email", "phone", "address")


class CustomerWrite(BaseModel):
    """A customer's details as a channel sends them."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    channel: Code | None = None
    name: str = Field(min_length=1, max_length=256)
    email: EmailStr | None = None
    phone: str | None = Field(default=None, pattern=r"^\+?[0-9 ()\-]{5,32}$")
    address: Address | None = None
    marketing_consent: bool = False


class AddressView(BaseModel):
    street: str
    city: str
    postcode: str
    country: str


class CustomerView(BaseModel):
    id: str
    channel: str | None
    #: true when personal fields are masked for this caller
    masked: bool
    name: str
    email: str | None
    phone: str | None
    address: AddressView | None
    marketing_consent: bool
    created_at: datetime
    updated_at: datetime


async def _tokens(
    vault: Vault, connection: AsyncConnection, body: CustomerWrite, now: datetime
) -> dict[str, str | None]:
    address = body.address.model_dump_json() if body.address else None
    values = {"name": body.name, "email": body.email, "phone": body.phone, "address": address}
    return {
        f"{field}_token": (await vault.tokenize(connection, value, now=now) if value else None)
        for field, value in values.items()
    }


def _address(clear: str | None, masked: bool) -> AddressView | None:
    if clear is None:
        return None
    parts = json.loads(clear)
    if masked:
        parts = {
            "street": mask(parts["street"]),
            "city": parts["city"],
            "postcode": "***",
            "country": parts["country"],
        }
    return AddressView(**parts)


async def _view(
    state: HubState, connection: AsyncConnection, principal: Principal, row: Row[Any]
) -> CustomerView:
    tokens = {field: getattr(row, f"{field}_token") for field in _PII_FIELDS}
    clear = await state.vault.detokenize(connection, tokens.values())
    values = {field: clear.get(token) if token else None for field, token in tokens.items()}
    masked = not sees_pii(principal)
    if not masked:
        await audit_pii_read(connection, principal, f"customer:{row.id}", at=state.clock())
    text = {f: values[f] for f in ("name", "email", "phone")}
    if masked:
        text = {f: mask(v) if v else v for f, v in text.items()}
    return CustomerView(
        id=row.id,
        channel=row.channel,
        masked=masked,
        name=text["name"] or "",
        email=text["email"],
        phone=text["phone"],
        address=_address(values["address"], masked),
        marketing_consent=row.marketing_consent,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def _owner(principal: Principal, body: CustomerWrite) -> str | None:
    if principal.role is Role.CHANNEL:
        if body.channel not in (None, principal.channel):
            raise ValidationError(
                "a channel token may only write its own customers", field="/channel"
            )
        return principal.channel
    return body.channel


@router.post("/customers", status_code=201, summary="Create a customer (PII tokenized)")
async def create_customer(
    body: CustomerWrite,
    response: Response,
    principal: Principal = Depends(require_role(Role.CHANNEL)),
    state: HubState = Depends(hub_state),
) -> CustomerView:
    now = state.clock()
    customer_id = f"cus_{uuid4().hex}"
    async with state.engine.begin() as connection:
        await connection.execute(
            insert(api_customers).values(
                id=customer_id,
                channel=_owner(principal, body),
                marketing_consent=body.marketing_consent,
                created_at=now,
                updated_at=now,
                **await _tokens(state.vault, connection, body, now),
            )
        )
        row = (
            await connection.execute(select(api_customers).where(api_customers.c.id == customer_id))
        ).one()
        view = await _view(state, connection, principal, row)
    response.headers["Location"] = f"/v1/customers/{customer_id}"
    return view


async def _visible_row(
    connection: AsyncConnection, principal: Principal, customer_id: str
) -> Row[Any]:
    row = (
        await connection.execute(select(api_customers).where(api_customers.c.id == customer_id))
    ).first()
    if row is None or not (
        principal.role in (Role.ADMIN, Role.SUPPORT)
        or (row.channel is not None and can_see_channel(principal, row.channel))
    ):
        raise NotFoundError(f"no customer {customer_id!r}", customer=customer_id)
    return row


@router.put("/customers/{customer_id}", summary="Replace a customer's details")
async def update_customer(
    customer_id: CustomerPath,
    body: CustomerWrite,
    principal: Principal = Depends(require_role(Role.CHANNEL)),
    state: HubState = Depends(hub_state),
) -> CustomerView:
    now = state.clock()
    async with state.engine.begin() as connection:
        old = await _visible_row(connection, principal, customer_id)
        owner = _owner(principal, body) if principal.role is Role.CHANNEL else body.channel
        await connection.execute(
            update(api_customers)
            .where(api_customers.c.id == customer_id)
            .values(
                channel=owner if owner is not None else old.channel,
                marketing_consent=body.marketing_consent,
                updated_at=now,
                **await _tokens(state.vault, connection, body, now),
            )
        )
        # the old clear values are erased, not just unreferenced
        await state.vault.erase(connection, (getattr(old, f"{f}_token") for f in _PII_FIELDS))
        row = (
            await connection.execute(select(api_customers).where(api_customers.c.id == customer_id))
        ).one()
        return await _view(state, connection, principal, row)


@router.get("/customers/{customer_id}", summary="A customer (PII masked for support)")
async def get_customer(
    customer_id: CustomerPath,
    principal: Principal = Depends(require_role(Role.CHANNEL, Role.SUPPORT)),
    state: HubState = Depends(hub_state),
) -> CustomerView:
    # a transaction, because clear reads append to the audit log
    async with state.engine.begin() as connection:
        row = await _visible_row(connection, principal, customer_id)
        return await _view(state, connection, principal, row)


async def purge_customers(
    engine: AsyncEngine, vault: Vault, *, older_than: timedelta, now: datetime, actor: str
) -> int:
    """Delete customers not updated for ``older_than`` and erase their vault entries."""
    cutoff = now - older_than
    async with engine.begin() as connection:
        rows = (
            await connection.execute(
                select(api_customers).where(api_customers.c.updated_at < cutoff)
            )
        ).all()
        tokens = [getattr(row, f"{f}_token") for row in rows for f in _PII_FIELDS]
        await vault.erase(connection, tokens)
        if rows:
            await connection.execute(
                delete(api_customers).where(api_customers.c.id.in_([row.id for row in rows]))
            )
        await audit.append(
            connection,
            actor=actor,
            action="customers.purge",
            target=f"updated_before:{cutoff.isoformat()}",
            detail={"deleted": len(rows)},
            at=now,
        )
    return len(rows)
