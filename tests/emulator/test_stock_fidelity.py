"""Odoo emulator: reservation, quants at virtual locations and webhook automations as real 17/18.

Each behaviour here was seen in the transcripts recorded from real Odoo
(``tests/odoo/conformance/{17,18}``): ``09-channel-orders`` (a delivery from a
location without stock stays 'confirmed', the one with stock reserves it on the
quant), ``11-capture`` (quants at 'Inventory adjustment' and 'Customers') and
``13-webhooks`` (``write_date`` rows of ``ir.model.fields``, actions named
'Send Webhook Notification').
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from storelink.emulator import OdooEmulator
from storelink.emulator.database import WebhookPost
from tests.emulator.support import Odoo, count_stock, running, storable


@pytest.fixture(params=[17, 18], ids=lambda v: f"odoo{v}")
async def odoo(request: pytest.FixtureRequest) -> AsyncIterator[Odoo]:
    async for served in running(OdooEmulator(version=str(request.param))):
        yield served


async def _warehouse(odoo: Odoo, code: str) -> dict[str, Any]:
    if code != "WH":
        await odoo.execute("stock.warehouse", "create", [{"name": f"Shop {code}", "code": code}])
    (row,) = await odoo.execute(
        "stock.warehouse", "search_read", [("code", "=", code)], ["lot_stock_id"]
    )
    return {"id": row["id"], "stock": row["lot_stock_id"][0]}


async def _product(odoo: Odoo, code: str) -> int:
    vals = {"name": code, "default_code": code, **storable(odoo.emulator.version)}
    (product,) = await odoo.execute("product.product", "create", [vals])
    return int(product)


async def _quant(odoo: Odoo, product: int, location: int) -> tuple[float, float]:
    rows = await odoo.execute(
        "stock.quant",
        "search_read",
        [("product_id", "=", product), ("location_id", "=", location)],
        ["quantity", "reserved_quantity"],
    )
    return (
        sum(float(r["quantity"]) for r in rows),
        sum(float(r["reserved_quantity"]) for r in rows),
    )


async def _order(odoo: Odoo, product: int, quantity: float, warehouse: int | None) -> int:
    (partner,) = await odoo.execute("res.partner", "create", [{"name": "Buyer"}])
    vals: dict[str, Any] = {
        "partner_id": partner,
        "order_line": [(0, 0, {"product_id": product, "product_uom_qty": quantity})],
    }
    if warehouse is not None:
        vals["warehouse_id"] = warehouse
    (order,) = await odoo.execute("sale.order", "create", [vals])
    assert await odoo.execute("sale.order", "action_confirm", [order]) is True
    return int(order)


async def _delivery(odoo: Odoo, order: int) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    (picking,) = await odoo.execute(
        "stock.picking", "search_read", [("sale_id", "=", order)], ["state", "move_ids"]
    )
    moves = await odoo.execute(
        "stock.move", "read", picking["move_ids"], ["state", "product_uom_qty", "quantity"]
    )
    return picking, moves


async def test_a_delivery_reserves_what_its_location_holds(odoo: Odoo) -> None:
    shop = await _warehouse(odoo, "CNA")
    cup = await _product(odoo, "CUP")
    await count_stock(odoo, cup, shop["stock"], 18)
    picking, (move,) = await _delivery(odoo, await _order(odoo, cup, 1, shop["id"]))
    assert picking["state"] == "assigned"
    assert (move["state"], move["quantity"]) == ("assigned", 1.0)
    assert await _quant(odoo, cup, shop["stock"]) == (18.0, 1.0)


async def test_a_delivery_from_a_location_without_stock_stays_confirmed(odoo: Odoo) -> None:
    # like web:ORD-2: no warehouse given, so the company's first one (WH), which holds nothing
    await _warehouse(odoo, "CNA")
    main = await _warehouse(odoo, "WH")
    jug = await _product(odoo, "JUG")
    picking, (move,) = await _delivery(odoo, await _order(odoo, jug, 2, None))
    assert picking["state"] == "confirmed"
    assert (move["state"], move["product_uom_qty"], move["quantity"]) == ("confirmed", 2.0, 0.0)
    assert await _quant(odoo, jug, main["stock"]) == (0.0, 0.0)


async def test_partial_stock_is_partially_reserved(odoo: Odoo) -> None:
    shop = await _warehouse(odoo, "CNA")
    jug = await _product(odoo, "JUG")
    await count_stock(odoo, jug, shop["stock"], 3)
    first = await _order(odoo, jug, 2, shop["id"])
    picking, (move,) = await _delivery(odoo, await _order(odoo, jug, 2, shop["id"]))
    # the first order holds 2 of the 3: one is left for the second
    assert picking["state"] == "assigned"
    assert (move["state"], move["quantity"]) == ("partially_available", 1.0)
    assert await _quant(odoo, jug, shop["stock"]) == (3.0, 3.0)
    # cancelling the first order gives its reservation back
    await odoo.execute(
        "sale.order", "action_cancel", [first], context={"disable_cancel_warning": True}
    )
    assert await _quant(odoo, jug, shop["stock"]) == (3.0, 1.0)


async def test_validation_releases_the_reservation_and_stock_reaches_customers(
    odoo: Odoo,
) -> None:
    shop = await _warehouse(odoo, "CNA")
    cup = await _product(odoo, "CUP")
    await count_stock(odoo, cup, shop["stock"], 5)
    picking, _ = await _delivery(odoo, await _order(odoo, cup, 2, shop["id"]))
    context = {"skip_immediate": True, "skip_backorder": True}
    assert (
        await odoo.execute(
            "stock.picking", "button_validate", [picking["id"]], **{"context": context}
        )
        is True
    )
    assert await _quant(odoo, cup, shop["stock"]) == (3.0, 0.0)
    (customers,) = await odoo.execute("stock.location", "search", [("usage", "=", "customer")])
    assert await _quant(odoo, cup, customers) == (2.0, 0.0)


async def test_an_inventory_count_leaves_the_difference_at_inventory_adjustment(
    odoo: Odoo,
) -> None:
    shop = await _warehouse(odoo, "CNA")
    cup = await _product(odoo, "CUP")
    await count_stock(odoo, cup, shop["stock"], 20)
    await count_stock(odoo, cup, shop["stock"], 18)
    (loss,) = await odoo.execute("stock.location", "search", [("usage", "=", "inventory")])
    assert await _quant(odoo, cup, loss) == (-18.0, 0.0)
    # only internal locations are on hand
    (row,) = await odoo.execute("product.product", "read", [cup], ["qty_available"])
    assert row["qty_available"] == 18.0


async def test_every_model_has_a_write_date_field_row(odoo: Odoo) -> None:
    models = ["res.partner", "stock.quant", "stock.picking", "product.product", "sale.order"]
    rows = await odoo.execute(
        "ir.model.fields",
        "search_read",
        [("model", "in", models), ("name", "=", "write_date")],
        ["model", "ttype"],
    )
    assert sorted(r["model"] for r in rows) == sorted(models)
    assert {r["ttype"] for r in rows} == {"datetime"}


async def test_an_automation_webhook_action_is_named_send_webhook_notification(
    odoo: Odoo, monkeypatch: pytest.MonkeyPatch
) -> None:
    (model,) = await odoo.execute("ir.model", "search", [("model", "=", "res.partner")])
    (field,) = await odoo.execute(
        "ir.model.fields", "search", [("model", "=", "res.partner"), ("name", "=", "write_date")]
    )
    (rule,) = await odoo.execute(
        "base.automation",
        "create",
        [{"name": "hub: partner", "model_id": model, "trigger": "on_create_or_write"}],
    )
    (action,) = await odoo.execute(
        "ir.actions.server",
        "create",
        [
            {
                "name": "hub: notify",
                "model_id": model,
                "state": "webhook",
                "usage": "base_automation",
                "base_automation_id": rule,
                "webhook_url": "http://127.0.0.1:9/hook",
                "webhook_field_ids": [(6, 0, [field])],
            }
        ],
    )
    (row,) = await odoo.execute(
        "ir.actions.server", "read", [action], ["name", "webhook_field_ids"]
    )
    assert row == {"id": action, "name": "Send Webhook Notification", "webhook_field_ids": [field]}
    # an action outside automation rules keeps its name
    (plain,) = await odoo.execute(
        "ir.actions.server",
        "create",
        [{"name": "Mine", "model_id": model, "state": "webhook", "webhook_url": "http://x"}],
    )
    (row,) = await odoo.execute("ir.actions.server", "read", [plain], ["name"])
    assert row["name"] == "Mine"
    # the webhook carries the chosen write_date
    sent: list[WebhookPost] = []
    monkeypatch.setattr(odoo.emulator.webhooks, "send", sent.extend)
    await odoo.execute("res.partner", "create", [{"name": "Someone"}])
    (post,) = sent
    assert post.payload["_action"] == f"Send Webhook Notification(#{action})"
    assert isinstance(post.payload["write_date"], str)


async def test_a_warehouse_code_past_five_characters_is_cut_as_real_odoo_cuts_it(
    odoo: Odoo,
) -> None:
    (warehouse,) = await odoo.execute(
        "stock.warehouse", "create", [{"name": "Too long", "code": "ABCDEF"}]
    )
    (row,) = await odoo.execute("stock.warehouse", "read", [warehouse], ["code"])
    assert row["code"] == "ABCDE"  # real 17 and 18: no error, the sixth character is gone
