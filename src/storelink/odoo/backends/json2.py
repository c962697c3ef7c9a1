"""JSON-2 on ``POST /json/2/<model>/<method>`` (Odoo 19+).

Follows ``addons/web/controllers/json2.py`` (19.0): the body is ``{"ids": […],
"context": {…}, <parameter>: <value>…}`` with the method's parameters by name,
authentication is ``Authorization: bearer <API key>`` and the database is named
by ``X-Odoo-Database``. Errors come back as an HTTP status with Odoo's
``serialize_exception`` body. ``common.version`` is still read over ``/jsonrpc``
(and ``/web/version`` where that is gone).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from storelink.errors import OdooAuthenticationError, OdooError, OdooProtocolError
from storelink.odoo import faults
from storelink.odoo.backend import Call, Credentials, Endpoint
from storelink.odoo.backends.jsonrpc import JsonRpcBackend
from storelink.odoo.backends.wire import make_client, post


class Json2Backend:
    """Odoo 19's JSON-2 API."""

    name = "json2"

    def __init__(self, endpoint: Endpoint) -> None:
        self._endpoint = endpoint
        self._client = make_client(endpoint)
        self._headers: dict[str, str] = {}

    async def version(self) -> Mapping[str, Any]:
        legacy = JsonRpcBackend(self._endpoint)
        try:
            return await legacy.version()
        finally:
            await legacy.aclose()

    async def authenticate(self, credentials: Credentials) -> int:
        self._headers = {
            "Authorization": f"bearer {credentials.secret}",
            "X-Odoo-Database": credentials.database,
        }
        try:
            users = await self.execute(
                Call(
                    "res.users",
                    "search_read",
                    params={"domain": [["login", "=", credentials.login]], "fields": ["id"]},
                )
            )
        except OdooAuthenticationError:
            raise
        except OdooError as exc:
            raise OdooAuthenticationError(
                f"Odoo refused the API key for database {credentials.database!r}: {exc}",
                database=credentials.database,
            ) from exc
        if not users:
            raise OdooAuthenticationError(
                f"the API key does not belong to login {credentials.login!r}",
                login=credentials.login,
            )
        return int(users[0]["id"])

    async def execute(self, call: Call) -> Any:
        body: dict[str, Any] = dict(call.params)
        if call.ids is not None:
            body["ids"] = list(call.ids)
        if call.context:
            body["context"] = {**body.get("context", {}), **call.context}
        context = {"model": call.model, "method": call.method}
        response = await post(
            self._client,
            f"/json/2/{call.model}/{call.method}",
            json=body,
            headers=self._headers,
        )
        try:
            answer = response.json() if response.content else None
        except ValueError as exc:
            if response.status_code >= 300:
                raise faults.from_status(response.status_code, response.text, **context) from exc
            raise OdooProtocolError("JSON-2 answer is not JSON", **context) from exc
        if response.status_code >= 300:
            raise faults.from_status(response.status_code, answer, **context)
        return answer

    async def aclose(self) -> None:
        await self._client.aclose()
