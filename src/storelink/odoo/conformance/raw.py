"""JSON-RPC calls the connector would never send, sent on purpose (through the recording).

``create`` with ``vals_list`` as a keyword is what storelink once sent: Odoo
16-18 answer it with ``IndexError`` (``_call_kw_model_create`` reads
``args[0]``). The backends always send it positionally, so this exchange is
made here, by hand, to hold the emulator to Odoo's answer.
"""

from __future__ import annotations

from typing import Any

from storelink.errors import OdooProtocolError
from storelink.odoo import faults
from storelink.odoo.backend import Endpoint
from storelink.odoo.backends.wire import make_client, post
from storelink.odoo.conformance.context import Run


async def execute_kw(
    run: Run, model: str, method: str, args: list[Any], kwargs: dict[str, Any]
) -> Any:
    """``object.execute_kw`` exactly as given; Odoo's error mapped like the backends do."""
    options = run.options
    body = {
        "jsonrpc": "2.0",
        "method": "call",
        "params": {
            "service": "object",
            "method": "execute_kw",
            "args": [
                options.database, run.client.uid, options.password, model, method, args, kwargs,
            ],
        },
        "id": 1,
    }  # fmt: skip
    client = make_client(Endpoint(options.url, options.timeout_s, run.transport))
    try:
        response = await post(client, "/jsonrpc", json=body)
    finally:
        await client.aclose()
    answer = response.json()
    if not isinstance(answer, dict):
        raise OdooProtocolError("JSON-RPC answer is not an object")
    if "error" in answer:
        raise faults.from_jsonrpc_error(answer["error"], model=model, method=method)
    return answer.get("result")
