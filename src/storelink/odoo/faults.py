"""Turning what Odoo answers on failure into the right :mod:`storelink.errors` type.

Odoo reports a server-side exception in three shapes:

* JSON-RPC: ``{"error": {"code": 200, "message": "Odoo Server Error", "data":
  {"name": "odoo.exceptions.UserError", "message": …}}}``
  (``odoo/http.py`` ``serialize_exception``);
* XML-RPC: a ``Fault`` (``odoo/addons/base/controllers/rpc.py``): ``faultCode`` 2
  for every ``UserError`` — ``ValidationError`` and ``MissingError`` included, as
  seen on real 17 and 18 — with the bare message, 3 for ``AccessDenied``, 4 for
  ``AccessError``, and 1 for any other exception with the whole traceback as
  ``faultString`` (its last line names the exception);
* JSON-2: an HTTP status with the same ``serialize_exception`` body
  (``addons/web/controllers/json2.py``).

Concurrency faults (PostgreSQL serialization failures, rows locked by a
concurrent update) are retryable; business refusals never are.

The message names what was refused and keeps Odoo's own words, so a user reads
``Odoo refused pos.config.create: This cash payment method is already used …``;
an exception that is not one of Odoo's (a bug in a module, a wrong call such as
``IndexError``) reads ``Odoo failed in stock.quant.create: IndexError: tuple
index out of range``. Odoo's bare message stays in ``context["odoo_message"]``.
"""

from __future__ import annotations

import re
from typing import Any

from storelink.errors import (
    OdooAccessError,
    OdooAuthenticationError,
    OdooBusinessError,
    OdooConcurrencyError,
    OdooError,
    OdooMissingError,
    OdooTransportError,
    OdooUserError,
    OdooValidationError,
)

#: substrings of an exception name or message that mean "try again, nothing was done"
CONCURRENCY_MARKERS = (
    "SerializationFailure",
    "TransactionRollbackError",
    "LockNotAvailable",
    "DeadlockDetected",
    "could not serialize access",
    "concurrent update",
)

#: HTTP statuses a proxy or a restarting Odoo answers; the call did not run
TRANSIENT_STATUSES = frozenset({502, 503, 504})

_BUSINESS: dict[str, type[OdooBusinessError]] = {
    "AccessError": OdooAccessError,
    "AccessDenied": OdooAccessError,
    "ValidationError": OdooValidationError,
    "UserError": OdooUserError,
    "RedirectWarning": OdooUserError,
    "MissingError": OdooMissingError,
    # Odoo turns IntegrityError into ValidationError on RPC (odoo/service/model.py)
    "IntegrityError": OdooValidationError,
    "UniqueViolation": OdooValidationError,
}

#: XML-RPC fault codes of odoo/addons/base/controllers/rpc.py (xmlrpc_handle_exception_int);
#: code 1 carries a traceback and is read from its last line instead
_FAULT_CODES: dict[int, str] = {
    2: "odoo.exceptions.UserError",
    3: "odoo.exceptions.AccessDenied",
    4: "odoo.exceptions.AccessError",
}

#: how a MissingError's message begins (odoo/models.py ``_check_access``/``check_exists``);
#: over XML-RPC it is the only way to tell it from other refusals sharing code 2
_MISSING_MESSAGE = "Record does not exist or has been deleted"

#: how a traceback's last line names its exception: ``ValueError``, ``psycopg2.errors.X``
_EXCEPTION_NAME = re.compile(r"[A-Za-z_][\w.]*")


def _what(context: dict[str, Any]) -> str:
    model, method = context.get("model"), context.get("method")
    return f"{model}.{method}" if model and method else "the call"


def classify(name: str | None, message: str, **context: Any) -> OdooError:
    """The storelink error for an Odoo exception ``name`` (dotted or short) and its message."""
    text = f"{name or ''} {message}"
    short = (name or "").rsplit(".", 1)[-1]
    said = message.strip() or "Odoo Server Error"
    context = {"odoo_exception": name, "odoo_message": said, **context}
    what = _what(context)
    if any(marker in text for marker in CONCURRENCY_MARKERS):
        return OdooConcurrencyError(
            f"Odoo {what} clashed with a concurrent update: {said}", **context
        )
    if short == "SessionExpiredException":
        return OdooAuthenticationError(f"Odoo ended the session: {said}", **context)
    business = _BUSINESS.get(short)
    if business is not None:
        return business(f"Odoo refused {what}: {said}", **context)
    if name and not (name.startswith("odoo.") or name.startswith("werkzeug.")):
        return OdooBusinessError(f"Odoo failed in {what}: {short}: {said}", **context)
    return OdooBusinessError(f"Odoo refused {what}: {said}", **context)


def from_jsonrpc_error(error: dict[str, Any], **context: Any) -> OdooError:
    """Classify the ``error`` member of a JSON-RPC response."""
    data = error.get("data") or {}
    name = data.get("name") if isinstance(data, dict) else None
    message = (data.get("message") if isinstance(data, dict) else None) or error.get("message")
    return classify(name, str(message or "Odoo Server Error"), **context)


def from_fault(code: int | str, fault_string: str, **context: Any) -> OdooError:
    """Classify an XML-RPC ``Fault``.

    Odoo puts the message in ``faultString`` and, for unexpected exceptions, the
    whole traceback; the last line of a traceback names the exception.
    """
    if isinstance(code, int) and code in _FAULT_CODES:
        name = _FAULT_CODES[code]
        if code == 2 and fault_string.startswith(_MISSING_MESSAGE):
            name = "odoo.exceptions.MissingError"
        return classify(name, fault_string, **context)
    lines = [line for line in fault_string.strip().splitlines() if line.strip()]
    last = lines[-1] if lines else fault_string
    name, _, message = last.partition(": ")
    if _EXCEPTION_NAME.fullmatch(name):
        return classify(name, message or last, **context)
    return classify(None, fault_string, **context)


def from_status(status: int, body: Any, **context: Any) -> OdooError:
    """Classify a non-2xx HTTP answer (JSON-2 errors, proxies, outages)."""
    if status in TRANSIENT_STATUSES:
        return OdooTransportError(f"Odoo answered HTTP {status}", status=status, **context)
    if isinstance(body, dict) and "name" in body:
        return classify(str(body["name"]), str(body.get("message") or ""), status=status, **context)
    if status == 401:
        return OdooAuthenticationError(
            "Odoo refused the API key (HTTP 401)", status=status, **context
        )
    message = body if isinstance(body, str) and body else f"Odoo answered HTTP {status}"
    if status == 403:
        return OdooAccessError(message, status=status, **context)
    if status == 404:
        return OdooMissingError(message, status=status, **context)
    if status == 422:
        return OdooValidationError(message, status=status, **context)
    return OdooBusinessError(message, status=status, **context)
