"""A recording ``httpx2`` transport: every Odoo exchange, decoded, in the order it happened.

:class:`RecordingTransport` wraps any transport and hands each request and its
answer to a :class:`~storelink.odoo.conformance.tape.Tape` as plain JSON
values: for JSON-RPC the request's ``params`` (``service``, ``method``,
``args``) and the whole answer envelope (so a missing ``result`` stays
missing), for XML-RPC the method, its params and the result or the fault.
Closing it leaves the wrapped transport open: the connector closes its clients
(and a version probe closes its own) while the recording goes on; the owner
closes the wrapped transport once at the end.
"""

from __future__ import annotations

import base64
import json
import xmlrpc.client
from typing import Any

import httpx2

from storelink.odoo.conformance.tape import Tape


def plain(value: Any) -> Any:
    """``value`` as JSON: XML-RPC dates and binaries as strings, tuples as lists."""
    if isinstance(value, xmlrpc.client.DateTime):
        return str(value.value)
    if isinstance(value, xmlrpc.client.Binary):
        return base64.b64encode(value.data).decode()
    if isinstance(value, bytes):
        return base64.b64encode(value).decode()
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    return value


def call_name(service: str, method: str, args: list[Any]) -> str:
    """``model.method`` for ``object.execute_kw``, else ``service.method``."""
    if service == "object" and method in ("execute_kw", "execute") and len(args) >= 5:
        return f"{args[3]}.{args[4]}"
    return f"{service}.{method}"


def _jsonrpc(request: bytes, status: int, answer: bytes) -> dict[str, Any]:
    params = json.loads(request).get("params") or {}
    service, method = str(params.get("service")), str(params.get("method"))
    args = list(params.get("args") or [])
    entry: dict[str, Any] = {
        "kind": "call",
        "protocol": "jsonrpc",
        "call": call_name(service, method, args),
        "service": service,
        "method": method,
        "args": args,
    }
    try:
        envelope = json.loads(answer)
    except ValueError:
        envelope = {"http_body": answer.decode(errors="replace")[:200]}
    if isinstance(envelope, dict):
        # the request id is a client counter, not part of Odoo's answer
        envelope = {k: v for k, v in envelope.items() if k != "id"}
    entry["answer"] = envelope
    if status != 200:
        entry["status"] = status
    return entry


def _xmlrpc(path: str, request: bytes, status: int, answer: bytes) -> dict[str, Any]:
    params, method = xmlrpc.client.loads(request, use_datetime=False)
    service = path.rstrip("/").rsplit("/", 1)[-1]
    args = plain(list(params))
    entry: dict[str, Any] = {
        "kind": "call",
        "protocol": "xmlrpc",
        "call": call_name(service, str(method), args),
        "service": service,
        "method": str(method),
        "args": args,
    }
    try:
        (result,), _ = xmlrpc.client.loads(answer, use_datetime=False)
        entry["answer"] = {"result": plain(result)}
    except xmlrpc.client.Fault as fault:
        entry["answer"] = {
            "fault": {"faultCode": plain(fault.faultCode), "faultString": str(fault.faultString)}
        }
    except Exception:  # an HTML error page or a cut answer: keep what came
        entry["answer"] = {"http_body": answer.decode(errors="replace")[:200]}
    if status != 200:
        entry["status"] = status
    return entry


def decode(path: str, request: bytes, status: int, answer: bytes) -> dict[str, Any]:
    """One exchange as a tape entry (``kind="call"``)."""
    if path.endswith("/jsonrpc"):
        return _jsonrpc(request, status, answer)
    if "/xmlrpc/" in path:
        return _xmlrpc(path, request, status, answer)
    return {
        "kind": "call",
        "protocol": "http",
        "call": path,
        "args": [request.decode(errors="replace")],
        "answer": {"http_body": answer.decode(errors="replace")},
        "status": status,
    }


def read_back(
    response: httpx2.Response, content: bytes, request: httpx2.Request
) -> httpx2.Response:
    """``response`` again around its already-read ``content`` (for a wrapping transport)."""
    # the content is already decoded: drop the headers that described its encoding
    headers = [
        (name, value)
        for name, value in response.headers.items()
        if name.lower() not in ("content-encoding", "content-length", "transfer-encoding")
    ]
    return httpx2.Response(response.status_code, headers=headers, content=content, request=request)


class RecordingTransport(httpx2.AsyncBaseTransport):
    """Passes requests to ``inner`` and records each exchange on ``tape``."""

    def __init__(self, inner: httpx2.AsyncBaseTransport, tape: Tape) -> None:
        self.inner = inner
        self.tape = tape

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        body = await request.aread()
        response = await self.inner.handle_async_request(request)
        content = await response.aread()
        self.tape.add(decode(request.url.path, body, response.status_code, content))
        return read_back(response, content, request)

    async def aclose(self) -> None:
        """Leave ``inner`` open (see the module docstring); :meth:`close_inner` closes it."""

    async def close_inner(self) -> None:
        await self.inner.aclose()
