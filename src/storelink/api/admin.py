"""``/v1/admin``: configuration by the integration admin (clients, signing keys, audit log).

Every write here is audited by :mod:`storelink.api.audit_trail`; routes add detail.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Self

from fastapi import APIRouter, Depends, Path, Query, Request
from pydantic import BaseModel, ConfigDict, Field, model_validator

from storelink.api.principal import Principal, Role
from storelink.api.security import require_role
from storelink.api.state import HubState, hub_state
from storelink.model.types import Code
from storelink.ops import audit

router = APIRouter(prefix="/v1/admin", tags=["administration"])

ADMIN = require_role()


class ClientCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    role: Role
    store: Code | None = None
    channel: Code | None = None
    rate_per_s: float | None = Field(default=None, gt=0, le=100_000)
    burst: int | None = Field(default=None, ge=1, le=1_000_000)

    @model_validator(mode="after")
    def _scope(self) -> Self:
        if self.role is Role.STORE and not self.store:
            raise ValueError("a store client needs store")
        if self.role in (Role.CHANNEL, Role.PARTNER) and not self.channel:
            raise ValueError(f"a {self.role.value} client needs channel")
        if (self.rate_per_s is None) != (self.burst is None):
            raise ValueError("give both rate_per_s and burst, or neither")
        return self


class ClientCreated(BaseModel):
    client_id: str
    #: shown once; only its hash is stored
    client_secret: str
    role: Role
    store: str | None
    channel: str | None


class SigningKeyView(BaseModel):
    kid: str


class AuditEntryView(BaseModel):
    seq: int
    at: datetime
    actor: str
    action: str
    target: str
    detail: dict[str, Any]
    prev_hash: str
    hash: str


@router.post("/clients", status_code=201, summary="Create an API client (secret shown once)")
async def create_client(
    body: ClientCreate,
    request: Request,
    _principal: Principal = Depends(ADMIN),
    state: HubState = Depends(hub_state),
) -> ClientCreated:
    new = await state.tokens.add_client(
        body.role,
        store=body.store,
        channel=body.channel,
        rate_per_s=body.rate_per_s,
        burst=body.burst,
    )
    request.state.audit_detail = {
        "client_id": new.client_id,
        "role": body.role.value,
        "store": body.store,
        "channel": body.channel,
    }
    return ClientCreated(
        client_id=new.client_id,
        client_secret=new.secret,
        role=new.role,
        store=new.store,
        channel=new.channel,
    )


@router.delete("/clients/{client_id}", status_code=204, summary="Revoke an API client")
async def revoke_client(
    client_id: Annotated[str, Path(min_length=1, max_length=64)],
    _principal: Principal = Depends(ADMIN),
    state: HubState = Depends(hub_state),
) -> None:
    await state.tokens.revoke_client(client_id)


@router.post("/signing-keys", status_code=201, summary="Rotate the token signing key")
async def rotate_key(
    request: Request,
    _principal: Principal = Depends(ADMIN),
    state: HubState = Depends(hub_state),
) -> SigningKeyView:
    kid = await state.tokens.keys.rotate()
    request.state.audit_detail = {"kid": kid}
    return SigningKeyView(kid=kid)


@router.get("/audit", summary="Read the audit log")
async def read_audit(
    after: Annotated[int, Query(ge=0, le=2**62)] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    _principal: Principal = Depends(ADMIN),
    state: HubState = Depends(hub_state),
) -> list[AuditEntryView]:
    async with state.engine.connect() as connection:
        rows = await audit.entries(connection, after=after, limit=limit)
    return [AuditEntryView(**vars(entry)) for entry in rows]
