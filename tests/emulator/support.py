"""Shared helpers for the Odoo emulator tests: a small RPC client over real HTTP.

(Named like a test module so it stays within the emulator's test files; it holds no tests.)
"""

from __future__ import annotations

import asyncio
import xmlrpc.client
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx2
import pytest

from storelink.emulator import (
    ADMIN_PASSWORD,
    ADMIN_UID,
    API_KEY,
    OdooEmulator,
    serve_emulator,
)

DB = "storelink"


class RpcError(Exception):
    """A JSON-RPC error answer; ``error`` is the whole ``error`` object."""

    def __init__(self, error: dict[str, Any]) -> None:
        super().__init__(error["data"]["message"])
        self.error = error

    @property
    def name(self) -> str:
        return str(self.error["data"]["name"])

    @property
    def message(self) -> str:
        return str(self.error["data"]["message"])


@dataclass
class Odoo:
    """The emulator being served, and ways to talk to it as a client would."""

    emulator: OdooEmulator
    url: str
    http: httpx2.AsyncClient

    async def jsonrpc(self, service: str, method: str, *args: Any) -> Any:
        payload = {
            "jsonrpc": "2.0",
            "method": "call",
            "params": {"service": service, "method": method, "args": list(args)},
            "id": 7,
        }
        response = await self.http.post("/jsonrpc", json=payload)
        assert response.status_code == 200
        body = response.json()
        assert body["jsonrpc"] == "2.0" and body["id"] == 7
        if "error" in body:
            raise RpcError(body["error"])
        return body.get("result")

    async def execute(
        self,
        model: str,
        method: str,
        *args: Any,
        uid: int = ADMIN_UID,
        password: str = ADMIN_PASSWORD,
        **kwargs: Any,
    ) -> Any:
        return await self.jsonrpc(
            "object", "execute_kw", DB, uid, password, model, method, list(args), kwargs
        )

    async def xmlrpc(self, service: str, method: str, *args: Any) -> Any:
        def call() -> Any:
            proxy = xmlrpc.client.ServerProxy(f"{self.url}/xmlrpc/2/{service}")
            return getattr(proxy, method)(*args)

        return await asyncio.to_thread(call)

    async def xexecute(self, model: str, method: str, *args: Any, **kwargs: Any) -> Any:
        return await self.xmlrpc(
            "object", "execute_kw", DB, ADMIN_UID, ADMIN_PASSWORD, model, method, list(args), kwargs
        )

    async def json2(
        self, model: str, method: str, *, key: str = API_KEY, **body: Any
    ) -> httpx2.Response:
        headers = {"Authorization": f"bearer {key}", "X-Odoo-Database": DB}
        return await self.http.post(f"/json/2/{model}/{method}", json=body, headers=headers)


def storable(version: int) -> dict[str, Any]:
    """Values making a product storable in ``version``."""
    if version <= 17:
        return {"type": "product", "detailed_type": "product"}
    return {"type": "consu", "is_storable": True}


async def running(emulator: OdooEmulator) -> AsyncIterator[Odoo]:
    async with serve_emulator(emulator) as url, httpx2.AsyncClient(base_url=url) as http:
        yield Odoo(emulator, url, http)


@pytest.fixture(params=[16, 17, 18, 19], ids=lambda v: f"odoo{v}")
async def odoo(request: pytest.FixtureRequest) -> AsyncIterator[Odoo]:
    """An emulator of each supported version, served over HTTP on 127.0.0.1."""
    async for served in running(OdooEmulator(version=str(request.param))):
        yield served


INVENTORY = {"inventory_mode": True}


async def count_stock(odoo: Odoo, product: int, location: int, quantity: float) -> int:
    """Count ``quantity`` of ``product`` at ``location`` (inventory mode, applied); the quant."""
    quant = await odoo.execute(
        "stock.quant",
        "create",
        {"product_id": product, "location_id": location, "inventory_quantity": quantity},
        context=INVENTORY,
    )
    await odoo.execute("stock.quant", "action_apply_inventory", [quant], context=INVENTORY)
    return int(quant)
