"""Idempotency-Key claims as a hub worker killed mid-request leaves them."""

from __future__ import annotations

import uuid
from datetime import timedelta

from sqlalchemy import insert

from storelink.api import HubState
from storelink.api.idempotency import fingerprint
from storelink.api.idempotency.claims import IN_PROGRESS
from storelink.api.tables import api_idempotency

#: the client id the ``auth`` fixture mints for channel "web"
CHANNEL_CLIENT = "test-channel-web"


async def leave_claim(
    hub: HubState, path: str, body: bytes, *, key: str, client_id: str, lease_left_s: float = 0
) -> None:
    """The row of a worker killed while running ``POST path`` with ``body``: in progress,
    its lease running out ``lease_left_s`` from now and never renewed again."""
    now = hub.clock()
    async with hub.engine.begin() as connection:
        await connection.execute(
            insert(api_idempotency).values(
                client_id=client_id,
                key=key,
                fingerprint=fingerprint(path, b"", body),
                state=IN_PROGRESS,
                created_at=now,
                owner="killed-host:4242",
                lease_token=uuid.uuid4().hex,
                lease_expires_at=now + timedelta(seconds=lease_left_s),
            )
        )
