"""The one narrow seam between the connector and an Odoo server.

Every protocol (JSON-RPC, XML-RPC, JSON-2) is an :class:`RpcBackend`: it knows
how to ask for the server version, authenticate, and run one ORM method. The
connector never sees the wire format; tests plug any ``httpx2`` transport in
through :class:`Endpoint`.

A call is expressed the JSON-2 way (``ids`` plus named parameters); the legacy
protocols turn it into ``execute_kw``'s ``args``/``kwargs`` with
:func:`positional` and :func:`keyword`. Odoo's ``call_kw`` (``odoo/api.py``,
16-18) browses ``args[0]`` as the record ids of a non-``@api.model`` method and
passes keyword arguments through — except ``create``, whose dispatcher
(``_call_kw_model_create``) reads ``args[0]`` to decide between one id and a
list: sent as a keyword, a real Odoo 17/18 fails with ``IndexError: tuple index
out of range``. So ``create`` travels with its ``vals_list`` positional. JSON-2
(``addons/web/controllers/json2.py``, 19.0) takes ``ids`` and every parameter by
name in the body.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import httpx2


@dataclass(frozen=True)
class Credentials:
    """Who the connector is in Odoo: a database, a login, and a password or API key."""

    database: str
    login: str
    secret: str


@dataclass(frozen=True)
class Endpoint:
    """Where Odoo is and how to reach it (``transport`` is the test seam)."""

    url: str
    timeout_s: float = 30.0
    transport: httpx2.AsyncBaseTransport | None = None


@dataclass(frozen=True)
class Call:
    """One ORM method call: ``model.method`` on ``ids`` (``None`` for model methods)."""

    model: str
    method: str
    ids: tuple[int, ...] | None = None
    params: Mapping[str, Any] = field(default_factory=dict)
    #: context keys (``inventory_mode``, ``lang`` …) merged into Odoo's context
    context: Mapping[str, Any] = field(default_factory=dict)

    def describe(self) -> str:
        return f"{self.model}.{self.method}"


class RpcBackend(Protocol):
    """One protocol spoken to one Odoo server."""

    #: "jsonrpc", "xmlrpc" or "json2"
    name: str

    async def version(self) -> Mapping[str, Any]:
        """``common.version``: ``server_version``, ``server_version_info`` …"""
        ...

    async def authenticate(self, credentials: Credentials) -> int:
        """The user id for ``credentials``; raises ``OdooAuthenticationError`` when refused."""
        ...

    async def execute(self, call: Call) -> Any:
        """Run ``call`` as the authenticated user and return Odoo's answer."""
        ...

    async def aclose(self) -> None: ...


#: model methods whose first parameter Odoo's ``call_kw`` reads from ``args`` (16-18)
POSITIONAL_FIRST: dict[str, str] = {"create": "vals_list"}


def positional(call: Call) -> list[Any]:
    """The ``args`` list of ``execute_kw`` for ``call``.

    ``[ids]`` for record methods; ``[vals_list]`` for ``create``; empty otherwise.
    """
    if call.ids is not None:
        return [list(call.ids)]
    first = POSITIONAL_FIRST.get(call.method)
    if first is not None and first in call.params:
        return [call.params[first]]
    return []


def keyword(call: Call) -> dict[str, Any]:
    """The ``kwargs`` of ``execute_kw`` (what :func:`positional` did not take), with context."""
    params = dict(call.params)
    if call.ids is None and call.method in POSITIONAL_FIRST:
        params.pop(POSITIONAL_FIRST[call.method], None)
    if call.context:
        params["context"] = {**params.get("context", {}), **call.context}
    return params


def ids_of(values: Sequence[int]) -> tuple[int, ...]:
    return tuple(int(v) for v in values)
