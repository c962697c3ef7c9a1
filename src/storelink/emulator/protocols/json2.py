"""``POST /json/2/<model>/<method>`` (Odoo 19+): bearer API key, ``X-Odoo-Database``.

The body is the method's keyword arguments plus ``ids`` and ``context``; the
answer is the bare JSON result. Errors are a JSON object with ``name``,
``message``, ``arguments``, ``context`` and ``debug``, with an HTTP status
(401 bad key, 403 access error, 404 unknown model/method or missing record,
422 user/validation error or arguments that do not bind, 500 anything else).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from storelink.emulator.dispatch import Backend, run_call
from storelink.emulator.exceptions import (
    HttpNotFound,
    HttpUnauthorized,
    HttpUnprocessable,
    OdooServerError,
)
from storelink.emulator.protocols import Reply
from storelink.emulator.protocols.tracebacks import serialize_exception


def _error(exc: BaseException) -> Reply:
    status = exc.http_status if isinstance(exc, OdooServerError) else 500
    body = serialize_exception(exc)
    if isinstance(exc, HttpUnauthorized):
        body["arguments"] = [str(exc), 401]
    headers = {"WWW-Authenticate": 'Bearer realm="odoo"'} if status == 401 else {}
    return Reply(status, json.dumps(body, default=str).encode(), headers=headers)


def _uid(backend: Backend, headers: Mapping[str, str]) -> int:
    scheme, _, key = (headers.get("authorization") or "").partition(" ")
    if scheme.lower() != "bearer" or not key.strip():
        raise HttpUnauthorized(
            "Missing or invalid Authorization header, expected 'bearer <api key>'"
        )
    uid = backend.db.api_keys.get(key.strip())
    user = backend.db.store.table("res.users").get(uid or 0)
    if uid is None or user is None or not user.get("active", True):
        raise HttpUnauthorized("Invalid apikey")
    return uid


def handle(
    backend: Backend, model: str, method: str, headers: Mapping[str, str], body: bytes
) -> Reply:
    try:
        if backend.version < 19:
            raise HttpNotFound("Not Found")
        database = headers.get("x-odoo-database")
        if database is not None and database != backend.db.name:
            raise HttpNotFound(f"database {database!r} not found")
        try:
            params: Any = json.loads(body) if body else {}
        except ValueError as exc:
            raise HttpUnprocessable(f"could not parse the body as json: {exc}") from exc
        if not isinstance(params, dict):
            raise HttpUnprocessable("could not parse the body, expecting a json object")
        with backend.db.store.lock:
            uid = _uid(backend, headers)
            ids = params.pop("ids", None) or []
            if not isinstance(ids, list):
                ids = [ids]
            result = run_call(backend, uid, model, method, [], params, json2=True, ids=ids)
    except Exception as exc:
        return _error(exc)
    return Reply(200, json.dumps(result, default=str).encode())
