"""What Odoo's two legacy protocols share: the ``common``/``object`` services.

JSON-RPC and XML-RPC differ only in how one service call travels (``_rpc``);
version, login and ``execute_kw`` are the same calls of ``odoo/service/common.py``
and ``odoo/service/model.py`` on both.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from typing import Any

from storelink.errors import OdooAuthenticationError, OdooProtocolError
from storelink.odoo.backend import Call, Credentials, Endpoint, keyword, positional
from storelink.odoo.backends.wire import make_client


class LegacyRpcBackend(ABC):
    """A session on Odoo's ``common`` and ``object`` services over one wire format."""

    name: str

    def __init__(self, endpoint: Endpoint) -> None:
        self._client = make_client(endpoint)
        self._credentials: Credentials | None = None
        self._uid: int | None = None

    @abstractmethod
    async def _rpc(self, service: str, function: str, args: list[Any], **context: Any) -> Any:
        """Call ``service.function(*args)``; raise the mapped error on a fault."""

    async def version(self) -> Mapping[str, Any]:
        result = await self._rpc("common", "version", [])
        if not isinstance(result, dict):
            raise OdooProtocolError(f"common.version did not return an object ({self.name})")
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
