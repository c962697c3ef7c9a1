"""JSON-RPC 2.0 on ``/jsonrpc`` (Odoo 16-18; deprecated in 19).

Requests are ``{"jsonrpc": "2.0", "method": "call", "params": {"service": …,
"method": …, "args": […]}}`` dispatched by ``odoo/service/{common,model}.py``.

A method that returns ``None`` (``stock.quant.action_apply_inventory``) ran and
committed, but Odoo's JSON-RPC answer then carries no ``result`` member at all
(``odoo/http.py`` drops a ``None`` result): an answer with neither ``result`` nor
``error`` is read as ``None`` (seen on real 17.0 and 18.0).
"""

from __future__ import annotations

import itertools
from typing import Any

from storelink.errors import OdooProtocolError
from storelink.odoo import faults
from storelink.odoo.backend import Endpoint
from storelink.odoo.backends.legacy import LegacyRpcBackend
from storelink.odoo.backends.wire import post


class JsonRpcBackend(LegacyRpcBackend):
    """Odoo's JSON-RPC endpoint."""

    name = "jsonrpc"

    def __init__(self, endpoint: Endpoint) -> None:
        super().__init__(endpoint)
        self._ids = itertools.count(1)

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
        if answer.get("jsonrpc") != "2.0":
            raise OdooProtocolError("JSON-RPC answer is not a JSON-RPC 2.0 response", **context)
        return answer.get("result")
