"""Steps on purpose wrong: refused business rules, bad fields, missing records, None answers.

Each call goes through the client (or, for the keyword ``create``, by hand),
so the transcript holds Odoo's own error class and message for each.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from storelink.odoo.client import connect
from storelink.odoo.conformance import raw
from storelink.odoo.conformance.context import Run
from storelink.odoo.conformance.data import MISSING_ID
from storelink.odoo.conformance.steps import readback
from storelink.odoo.stock import INVENTORY_MODE


async def refusals(run: Run) -> None:
    """Business rules Odoo enforces, and a method that answers ``None``."""
    tape, client = run.tape, run.client

    async def shared_cash_method() -> Any:
        configs = await readback.rows(
            run, "pos.config", [["name", "=", "CNA"]], ["payment_method_ids"]
        )
        ids = [int(m) for c in configs for m in c["payment_method_ids"]]
        methods = await readback.rows(
            run, "pos.payment.method", [["id", "in", ids], ["is_cash_count", "=", True]], ["name"]
        )
        cash = [int(m["id"]) for m in methods][:1]
        return await client.create(
            "pos.config", [{"name": "CNX", "payment_method_ids": [[6, 0, cash]]}]
        )

    async def unlink_confirmed_order() -> Any:
        orders = await readback.rows(
            run, "sale.order", [["client_order_ref", "=", "web:ORD-1"]], ["state"]
        )
        return await client.call("sale.order", "unlink", [int(o["id"]) for o in orders])

    async def apply_inventory() -> None:
        quant = await _counted_quant(run, 9)
        result = await client.call(
            "stock.quant", "action_apply_inventory", [quant], context=INVENTORY_MODE
        )
        tape.check("action_apply_inventory answer", result)

    await tape.run("pos.config sharing another config's cash method", shared_cash_method)
    await tape.run("unlink a confirmed sale order", unlink_confirmed_order)
    await tape.run("action_apply_inventory", apply_inventory)
    await tape.probe("on hand", lambda: readback.on_hand(run))


async def _counted_quant(run: Run, quantity: int) -> int:
    """A ``stock.quant`` of CF-JUG at CNB counted at ``quantity`` (inventory mode), not applied."""
    skus, locations = await readback.product_skus(run), await readback.store_locations(run)
    product = next(pid for pid, sku in skus.items() if sku == "CF-JUG")
    location = next(lid for lid, code in locations.items() if code == "CNB")
    (quant,) = await run.client.create(
        "stock.quant",
        [{"product_id": product, "location_id": location, "inventory_quantity": quantity}],
        context=INVENTORY_MODE,
    )
    return quant


async def wrong_calls(run: Run) -> None:
    """Calls Odoo refuses whatever the data: bad fields, missing ids, wrong arguments, login."""
    tape, client = run.tape, run.client
    partner = "res.partner"
    actions: list[tuple[str, Any]] = [
        (
            "search_read on an unknown field",
            lambda: client.search_read(partner, [["no_such_field", "=", "x"]], ["name"]),
        ),
        (
            "search_read of an unknown field",
            lambda: client.search_read(partner, [["id", "=", MISSING_ID]], ["no_such_field"]),
        ),
        (
            "read of a missing record",
            lambda: client.call(partner, "read", [MISSING_ID], fields=["name"]),
        ),
        (
            "write to a missing record",
            lambda: client.call(partner, "write", [MISSING_ID], vals={"name": "nobody"}),
        ),
        ("unlink of a missing record", lambda: client.call(partner, "unlink", [MISSING_ID])),
        ("an unknown method", lambda: client.call(partner, "no_such_method", [MISSING_ID])),
        ("a private method", lambda: client.call(partner, "_compute_display_name", [MISSING_ID])),
        (
            "create with vals_list as a keyword",
            lambda: raw.execute_kw(run, partner, "create", [], {"vals_list": [{"name": "Kw"}]}),
        ),
        ("login with a wrong password", lambda: _wrong_login(run)),
    ]
    for action, call in actions:
        await tape.run(action, call, _answer)


def _answer(value: Any) -> Any:
    return value


async def _wrong_login(run: Run) -> None:
    client = await connect(replace(run.options, password="not-the-password"))
    await client.aclose()
