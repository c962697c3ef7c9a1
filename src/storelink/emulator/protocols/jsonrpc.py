"""``POST /jsonrpc``: JSON-RPC 2.0 ``call`` onto ``common`` / ``object`` / ``db``.

Errors come back with HTTP 200 and Odoo's error object::

    {"jsonrpc": "2.0", "id": 1, "error": {"code": 200, "message": "Odoo Server Error",
     "data": {"name": "odoo.exceptions.AccessError", "message": "…", "arguments": […],
              "debug": "Traceback …", "context": {}}}}

A ``None`` result leaves the ``result`` member out, as Odoo's ``_response`` does.
"""

from __future__ import annotations

import json
from typing import Any

from storelink.emulator.dispatch import Backend, dispatch_rpc
from storelink.emulator.protocols import Reply
from storelink.emulator.protocols.tracebacks import serialize_exception


def _reply(payload: dict[str, Any]) -> Reply:
    return Reply(200, json.dumps(payload, default=str).encode())


def handle(backend: Backend, body: bytes) -> Reply:
    request_id: Any = None
    try:
        request = json.loads(body or b"{}")
        if not isinstance(request, dict):
            raise ValueError("Invalid JSON-RPC request: expecting an object")
        request_id = request.get("id")
        params = request.get("params") or {}
        service, method = params.get("service"), params.get("method")
        args = params.get("args") or []
        result = dispatch_rpc(backend, str(service), str(method), args)
    except Exception as exc:
        error = {"code": 200, "message": "Odoo Server Error", "data": serialize_exception(exc)}
        return _reply({"jsonrpc": "2.0", "id": request_id, "error": error})
    answer: dict[str, Any] = {"jsonrpc": "2.0", "id": request_id}
    if result is not None:
        answer["result"] = result
    return _reply(answer)
