"""Audit rows for reads of clear personal data (admin writes: ``api.audit_trail``)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncConnection

from storelink.api.principal import Principal
from storelink.ops import audit


async def audit_pii_read(
    connection: AsyncConnection, principal: Principal, target: str, *, at: datetime
) -> None:
    await audit.append(
        connection,
        actor=principal.client_id,
        action="pii.read",
        target=target,
        detail={"role": principal.role.value},
        at=at,
    )
