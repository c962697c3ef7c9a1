"""Every write an integration admin makes through ``/v1`` lands in the audit log.

A plain ASGI middleware, so routes of every part are covered without each one
remembering to: when an admin's ``POST``/``PUT``/``PATCH``/``DELETE`` succeeds
(2xx), one row (actor, ``METHOD /route/{template}``, the path) is appended before
the answer leaves. Routes add context by setting ``request.state.audit_detail``.
Idempotent replays are not new actions and are not logged again (this middleware
sits inside the idempotency one).
"""

from __future__ import annotations

from typing import Any

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from storelink.api.principal import Principal
from storelink.api.state import HubState
from storelink.errors import AuthenticationError
from storelink.ops import audit

WRITES = frozenset({"POST", "PUT", "PATCH", "DELETE"})


class AuditAdminWrites:
    def __init__(self, app: ASGIApp, hub: HubState) -> None:
        self.app = app
        self.hub = hub

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or scope["method"] not in WRITES
            or not scope["path"].startswith("/v1/")
        ):
            await self.app(scope, receive, send)
            return
        principal = await self._principal(Headers(scope=scope))
        if principal is None or not principal.is_admin:
            await self.app(scope, receive, send)
            return

        async def send_audited(message: Message) -> None:
            if message["type"] == "http.response.start" and 200 <= message["status"] < 300:
                await self._append(scope, principal, int(message["status"]))
            await send(message)

        await self.app(scope, receive, send_audited)

    async def _principal(self, headers: Headers) -> Principal | None:
        scheme, _, token = headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token:
            return None
        try:
            return await self.hub.tokens.verify(token)
        except AuthenticationError:
            return None

    async def _append(self, scope: Scope, principal: Principal, status: int) -> None:
        route = getattr(scope.get("route"), "path", scope["path"])
        state: dict[str, Any] = scope.get("state") or {}
        detail = {"status": status, **(state.get("audit_detail") or {})}
        async with self.hub.engine.begin() as connection:
            await audit.append(
                connection,
                actor=principal.client_id,
                action=f"{scope['method']} {route}",
                target=scope["path"],
                detail=detail,
                at=self.hub.clock(),
            )
