"""The XML-RPC protocol on its own: login, a create, refusals, errors and a ``None`` answer."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from storelink.odoo.client import OdooClient, connect
from storelink.odoo.conformance.context import Run
from storelink.odoo.conformance.data import MISSING_ID
from storelink.odoo.conformance.steps import readback
from storelink.odoo.stock import INVENTORY_MODE


async def xmlrpc(run: Run) -> None:
    tape = run.tape
    client = await tape.run("connect", lambda: connect(replace(run.options, protocol="xmlrpc")))
    if client is None:
        return
    try:
        await _calls(run, client)
    finally:
        await client.aclose()


async def _calls(run: Run, client: OdooClient) -> None:
    tape = run.tape

    async def create() -> None:
        ids = await client.create("res.partner", [{"name": "Conformance XML-RPC"}])
        found = await client.search_read("res.partner", [["id", "in", ids]], ["name"])
        tape.check("create", [r["name"] for r in found])

    async def missing() -> Any:
        return await client.call("res.partner", "write", [MISSING_ID], vals={"name": "nobody"})

    async def refused() -> Any:
        orders = await client.search_read(
            "sale.order", [["client_order_ref", "=", "web:ORD-2"]], ["state"]
        )
        return await client.call("sale.order", "unlink", [int(o["id"]) for o in orders])

    async def bad_field() -> Any:
        return await client.search_read("res.partner", [["no_such_field", "=", "x"]], ["name"])

    async def apply_inventory() -> None:
        skus, locations = await readback.product_skus(run), await readback.store_locations(run)
        product = next(pid for pid, sku in skus.items() if sku == "CF-CUP")
        location = next(lid for lid, code in locations.items() if code == "CNB")
        (quant,) = await client.create(
            "stock.quant",
            [{"product_id": product, "location_id": location, "inventory_quantity": 4}],
            context=INVENTORY_MODE,
        )
        result = await client.call(
            "stock.quant", "action_apply_inventory", [quant], context=INVENTORY_MODE
        )
        tape.check("action_apply_inventory answer", result)

    await tape.run("create", create)
    await tape.run("write to a missing record", missing)
    await tape.run("unlink a confirmed sale order", refused)
    await tape.run("search_read on an unknown field", bad_field)
    await tape.run("action_apply_inventory", apply_inventory)
    await tape.probe("on hand", lambda: readback.on_hand(run))
