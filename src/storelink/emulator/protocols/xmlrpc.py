"""``POST /xmlrpc/2/<service>`` (integer fault codes) and the historical ``/xmlrpc/<service>``
(string fault codes), as Odoo's ``xmlrpc_2`` and ``xmlrpc_1``.

The answer is marshalled with ``allow_none=False``: a method returning ``None``
(``stock.quant.action_apply_inventory`` …) has already committed its effect when
marshalling fails, and the client receives ``Fault(1, "…TypeError: cannot marshal
None unless allow_none is enabled")`` — exactly what real Odoo does.
"""

from __future__ import annotations

import xmlrpc.client
from typing import Any

from storelink.emulator.dispatch import Backend, dispatch_rpc
from storelink.emulator.exceptions import (
    AccessDenied,
    AccessError,
    MissingError,
    OdooServerError,
    UserError,
)
from storelink.emulator.protocols import Reply
from storelink.emulator.protocols.tracebacks import debug_text

FAULT_APPLICATION_ERROR = 1
FAULT_WARNING = 2
FAULT_ACCESS_DENIED = 3
FAULT_ACCESS_ERROR = 4


def fault_for(exc: BaseException) -> xmlrpc.client.Fault:
    """``xmlrpc_handle_exception_int``: access error 4, access denied 3, user error 2, else 1."""
    if isinstance(exc, AccessError):
        return xmlrpc.client.Fault(FAULT_ACCESS_ERROR, str(exc))
    if isinstance(exc, AccessDenied):
        return xmlrpc.client.Fault(FAULT_ACCESS_DENIED, str(exc))
    if isinstance(exc, UserError):
        return xmlrpc.client.Fault(FAULT_WARNING, str(exc))
    return xmlrpc.client.Fault(FAULT_APPLICATION_ERROR, debug_text(exc))


def _string_fault(code: str, text: str) -> xmlrpc.client.Fault:
    fault = xmlrpc.client.Fault(0, text)
    # Odoo's historical endpoint puts a string in faultCode, which the stubs type as int
    fault.faultCode = code  # type: ignore[assignment]
    return fault


def string_fault_for(exc: BaseException) -> xmlrpc.client.Fault:
    """``xmlrpc_handle_exception_string``: the fault code is a string naming the error."""
    if isinstance(exc, MissingError):
        return _string_fault(f"warning -- MissingError\n\n{exc}", "")
    if isinstance(exc, AccessError):
        return _string_fault(f"warning -- AccessError\n\n{exc}", "")
    if isinstance(exc, AccessDenied):
        return _string_fault("AccessDenied", str(exc))
    if isinstance(exc, UserError):
        return _string_fault(f"warning -- UserError\n\n{exc}", "")
    return _string_fault(str(exc), debug_text(exc))


def _dumps(value: Any) -> bytes:
    text = xmlrpc.client.dumps(value, methodresponse=True, allow_none=False)
    return text.encode()


def handle(backend: Backend, service: str, body: bytes, *, string_faults: bool = False) -> Reply:
    try:
        params, method = xmlrpc.client.loads(body, use_datetime=True)
        result = dispatch_rpc(backend, service, str(method), list(params))
        payload = _dumps((result,))
    except (OdooServerError, Exception) as exc:
        payload = _dumps(string_fault_for(exc) if string_faults else fault_for(exc))
    return Reply(200, payload, "text/xml")
