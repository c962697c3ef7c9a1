"""``POST /v1/odoo/webhook/{token}``: intake of Odoo's native webhook notifications.

Odoo posts ``{"_model": …, "_id": …, <fields>}`` fire-and-forget with a 1 s
timeout, so the answer is immediate and the body is only a hint: the feeds of
that model are marked for polling (durably, for pollers in other processes)
and pollers in this process are woken (:data:`~storelink.odoo.capture.HINTS`).
The secret path token is compared in constant time; a wrong one is a 404.
"""

from __future__ import annotations

import hmac
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse
from sqlalchemy import update

from storelink.api.state import HubState, hub_state
from storelink.errors import NotFoundError
from storelink.odoo.capture import HINTS
from storelink.odoo.feeds import default_feeds
from storelink.odoo.tables import odoo_cursors

router = APIRouter(prefix="/v1/odoo", tags=["odoo"])


@router.post("/webhook/{token}", status_code=202, include_in_schema=False)
async def odoo_webhook(
    token: str, request: Request, hub: HubState = Depends(hub_state)
) -> JSONResponse:
    expected = hub.settings.odoo.webhook_token
    if expected is None or not hmac.compare_digest(
        token.encode(), expected.get_secret_value().encode()
    ):
        raise NotFoundError("no such webhook")
    try:
        body: Any = await request.json()
    except ValueError:
        body = {}
    model = str(body.get("_model") or "") if isinstance(body, dict) else ""
    feeds = [f.name for f in default_feeds() if f.model == model]
    if feeds:
        async with hub.engine.begin() as connection:
            await connection.execute(
                update(odoo_cursors)
                .where(odoo_cursors.c.feed.in_(feeds))
                .values(poll_requested_at=hub.clock())
            )
        HINTS.notify(model)
    return JSONResponse({"accepted": bool(feeds), "model": model}, status_code=202)
