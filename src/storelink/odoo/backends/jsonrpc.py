"""JSON-RPC 2.0 on ``/jsonrpc`` (Odoo 16-18; deprecated in 19).

Requests are ``{"jsonrpc": "2.0", "method": "call", "params": {"service": …,
"method": …, "args": […]}}`` dispatched by ``odoo/service/{common,model}.py``.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from typing import Any

from storelink.errors import OdooAuthenticationError, OdooProtocolError
from storelink.odoo import faults
from storelink.odoo.backend import Call, Credentials, Endpoint, keyword, positional
from storelink.odoo.backends.wire import make_client, post


class JsonRpcBackend:
    """Odoo's JSON-RPC endpoint."""

    name = "jsonrpc"

    def __init__(self, endpoint: Endpoint) -> None:
        self._client = make_client(endpoint)
        self._ids = itertools.count(1)
        self._credentials: Credentials | None = None
        self._uid: int | None = None

    async def _rpc(self, service: str, function: str, args: list[Any], **context: Any) -> Any:
        body = {
            "jsonrpc": "2.0",
            "method": "call",
            "params": {"service": service, "method": function, "args": args},
            "id": next(self._ids),
        }
        response = await post(self._client, "/jsonrpc", json=body)
        if response.status_code != 200:
            raise faults.from_status(response.status_code, response.text, **context)
        try:
            answer = response.json()
        except ValueError as exc:
            raise OdooProtocolError("JSON-RPC answer is not JSON", **context) from exc
        if not isinstance(answer, dict):
            raise OdooProtocolError("JSON-RPC answer is not an object", **context)
        if "error" in answer:
            raise faults.from_jsonrpc_error(answer["error"], **context)
        if "result" not in answer:
            raise OdooProtocolError("JSON-RPC answer has neither result nor error", **context)
        return answer["result"]

    async def version(self) -> Mapping[str, Any]:
        result = await self._rpc("common", "version", [])
        if not isinstance(result, dict):
            raise OdooProtocolError("common.version did not return an object")
        return result

    async def authenticate(self, credentials: Credentials) -> int:
        uid = await self._rpc(
            "common",
            "authenticate",
            [credentials.database, credentials.login, credentials.secret, {}],
        )
        if not isinstance(uid, int) or isinstance(uid, bool):
            raise OdooAuthenticationError(
                f"Odoo refused login {credentials.login!r} on database {credentials.database!r}",
                login=credentials.login,
                database=credentials.database,
            )
        self._credentials, self._uid = credentials, uid
        return uid

    async def execute(self, call: Call) -> Any:
        if self._credentials is None or self._uid is None:
            raise OdooAuthenticationError("not authenticated")
        c = self._credentials
        args = [c.database, self._uid, c.secret, call.model, call.method]
        return await self._rpc(
            "object",
            "execute_kw",
            [*args, positional(call), keyword(call)],
            model=call.model,
            method=call.method,
        )

    async def aclose(self) -> None:
        await self._client.aclose()
