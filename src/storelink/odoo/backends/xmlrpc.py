"""XML-RPC on ``/xmlrpc/2/common`` and ``/xmlrpc/2/object`` (Odoo 16-18; deprecated in 19).

Odoo marshals answers without ``allow_none`` (``odoo/addons/base/controllers/rpc.py``),
so a method that returns ``None`` ran and committed but its answer cannot travel:
the server sends a ``Fault`` "cannot marshal None unless allow_none is enabled".
That fault is read here as a ``None`` result.
"""

from __future__ import annotations

import xmlrpc.client
from typing import Any

from storelink.errors import OdooProtocolError
from storelink.odoo import faults
from storelink.odoo.backends.legacy import LegacyRpcBackend
from storelink.odoo.backends.wire import post

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


class XmlRpcBackend(LegacyRpcBackend):
    """Odoo's XML-RPC endpoints."""

    name = "xmlrpc"

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
