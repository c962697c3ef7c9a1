"""XML-RPC on ``/xmlrpc/2/common`` and ``/xmlrpc/2/object`` (Odoo 16-18; deprecated in 19).

Odoo marshals answers without ``allow_none`` (``odoo/addons/base/controllers/rpc.py``),
so a method that returns ``None`` ran and committed but its answer cannot travel:
the server sends a ``Fault`` "cannot marshal None unless allow_none is enabled".
That fault is read here as a ``None`` result.
"""

from __future__ import annotations

import xmlrpc.client
from collections.abc import Mapping
from typing import Any

from storelink.errors import OdooAuthenticationError, OdooProtocolError
from storelink.odoo import faults
from storelink.odoo.backend import Call, Credentials, Endpoint, keyword, positional
from storelink.odoo.backends.wire import make_client, post

NONE_FAULT = "cannot marshal None"


def _plain(value: Any) -> Any:
    """XML-RPC has no ``None``: Odoo's own clients send ``False`` instead."""
    if value is None:
        return False
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


class XmlRpcBackend:
    """Odoo's XML-RPC endpoints."""

    name = "xmlrpc"

    def __init__(self, endpoint: Endpoint) -> None:
        self._client = make_client(endpoint)
        self._credentials: Credentials | None = None
        self._uid: int | None = None

    async def _rpc(self, service: str, function: str, args: list[Any], **context: Any) -> Any:
        body = xmlrpc.client.dumps(tuple(_plain(args)), function, allow_none=False).encode()
        response = await post(
            self._client,
            f"/xmlrpc/2/{service}",
            content=body,
            headers={"Content-Type": "text/xml"},
        )
        if response.status_code != 200:
            raise faults.from_status(response.status_code, response.text, **context)
        try:
            (result,), _ = xmlrpc.client.loads(response.content, use_datetime=False)
        except xmlrpc.client.Fault as fault:
            if NONE_FAULT in str(fault.faultString):
                return None
            raise faults.from_fault(fault.faultCode, str(fault.faultString), **context) from None
        except (ValueError, TypeError, xmlrpc.client.ResponseError) as exc:
            raise OdooProtocolError("XML-RPC answer cannot be parsed", **context) from exc
        return result

    async def version(self) -> Mapping[str, Any]:
        result = await self._rpc("common", "version", [])
        if not isinstance(result, dict):
            raise OdooProtocolError("common.version did not return a struct")
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
