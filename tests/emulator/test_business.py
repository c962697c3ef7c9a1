"""Odoo emulator: stock counts, sale confirmation, POS sync dedup and webhooks, over HTTP."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from storelink.emulator import OdooEmulator
from tests.emulator.support import INVENTORY, Odoo, RpcError, count_stock, odoo, running, storable

__all__ = ["odoo"]


async def _product(odoo: Odoo, code: str, price: float = 10.0) -> int:
    version = odoo.emulator.version
    ids = await odoo.execute(
        "product.product",
        "create",
        [
            {
                "name": f"Product {code}",
                "default_code": code,
                "list_price": price,
                **storable(version),
            }
        ],
    )
    return int(ids[0])


async def _stock_location(odoo: Odoo) -> int:
    rows = await odoo.execute(
        "stock.warehouse", "search_read", [("code", "=", "WH")], ["lot_stock_id"]
    )
    return int(rows[0]["lot_stock_id"][0])


async def _count(odoo: Odoo, product: int, quantity: float) -> int:
    return await count_stock(odoo, product, await _stock_location(odoo), quantity)


async def _on_hand(odoo: Odoo, product: int) -> float:
    location = await _stock_location(odoo)
    groups = await odoo.execute(
        "stock.quant",
        "read_group",
        [("product_id", "=", product), ("location_id", "child_of", location)],
        ["quantity:sum"],
        ["product_id"],
    )
    return float(groups[0]["quantity"]) if groups else 0.0


async def test_stock_count_applies_through_inventory_mode(odoo: Odoo) -> None:
    product = await _product(odoo, "SKU-1")
    quant = await _count(odoo, product, 12)
    assert await _on_hand(odoo, product) == 12.0
    # a second count on the same product and location reuses the quant
    again = await odoo.execute(
        "stock.quant",
        "create",
        {
            "product_id": product,
            "location_id": await _stock_location(odoo),
            "inventory_quantity": 9,
        },
        context=INVENTORY,
    )
    assert again == quant
    pending = await odoo.execute(
        "stock.quant",
        "read",
        [quant],
        ["inventory_quantity", "inventory_diff_quantity", "quantity"],
    )
    assert pending[0]["inventory_diff_quantity"] == -3.0 and pending[0]["quantity"] == 12.0
    await odoo.execute("stock.quant", "action_apply_inventory", [quant], context=INVENTORY)
    assert await _on_hand(odoo, product) == 9.0
    moves = await odoo.execute(
        "stock.move",
        "search_read",
        [("product_id", "=", product), ("is_inventory", "=", True)],
        ["product_uom_qty", "state", "location_dest_id"],
        order="id",
    )
    assert [(m["product_uom_qty"], m["state"]) for m in moves] == [(12.0, "done"), (3.0, "done")]
    variant = await odoo.execute("product.product", "read", [product], ["qty_available"])
    assert variant[0]["qty_available"] == 9.0


async def test_quants_are_guarded_outside_inventory_mode(odoo: Odoo) -> None:
    product = await _product(odoo, "SKU-2")
    location = await _stock_location(odoo)
    with pytest.raises(RpcError) as caught:
        await odoo.execute(
            "stock.quant", "create", {"product_id": product, "location_id": location, "quantity": 5}
        )
    assert caught.value.message == "Quant's creation is restricted, you can't do this operation."
    quant = await _count(odoo, product, 1)
    with pytest.raises(RpcError) as caught:
        await odoo.execute("stock.quant", "write", [quant], {"quantity": 50})
    assert caught.value.message == "Quant's editing is restricted, you can't do this operation."
    uid = odoo.emulator.add_user("counter", "pw", ["stock.group_stock_user"])
    await odoo.execute(
        "stock.quant",
        "write",
        [quant],
        {"inventory_quantity": 4},
        context=INVENTORY,
        uid=uid,
        password="pw",
    )
    with pytest.raises(RpcError) as caught:
        await odoo.execute(
            "stock.quant",
            "action_apply_inventory",
            [quant],
            context=INVENTORY,
            uid=uid,
            password="pw",
        )
    assert caught.value.message == "Only a stock manager can validate an inventory adjustment."
    assert await _on_hand(odoo, product) == 1.0


async def test_sale_confirm_creates_the_delivery_and_validation_moves_stock(odoo: Odoo) -> None:
    version = odoo.emulator.version
    tee, cap = await _product(odoo, "TEE"), await _product(odoo, "CAP")
    service = await odoo.execute(
        "product.product", "create", {"name": "Gift wrap", "type": "service"}
    )
    await _count(odoo, tee, 10)
    partner = await odoo.execute("res.partner", "create", {"name": "Web Customer"})
    orders = await odoo.execute(
        "sale.order",
        "create",
        [
            {
                "partner_id": partner,
                "client_order_ref": f"web-{n}",
                "order_line": [
                    (0, 0, {"product_id": tee, "product_uom_qty": 2}),
                    (0, 0, {"product_id": cap, "product_uom_qty": 1, "price_unit": 4.5}),
                    (0, 0, {"product_id": service, "product_uom_qty": 1}),
                ],
            }
            for n in (1, 2)
        ],
    )
    assert await odoo.execute("sale.order", "action_confirm", orders) is True
    found = await odoo.execute(
        "sale.order",
        "search_read",
        [("client_order_ref", "=", "web-2")],
        ["state", "name", "amount_untaxed"],
    )
    assert found[0]["id"] == orders[1] and found[0]["state"] == "sale"
    # 2 x 10.0 + 4.5 + the service at the default list price of 1.0
    assert found[0]["amount_untaxed"] == 25.5
    pickings = await odoo.execute(
        "stock.picking",
        "search_read",
        [("sale_id", "in", orders)],
        ["name", "state", "origin", "move_ids", "picking_type_id"],
        order="id",
    )
    assert len(pickings) == 2
    assert pickings[0]["name"].startswith("WH/OUT/") and pickings[0]["state"] == "assigned"
    assert "Delivery Orders" in pickings[0]["picking_type_id"][1]
    assert all(len(p["move_ids"]) == 2 for p in pickings)  # the service line ships nothing
    with pytest.raises(RpcError):
        await odoo.execute("sale.order", "action_confirm", [orders[0]])
    first = pickings[0]["id"]
    if version <= 16:
        wizard = await odoo.execute("stock.picking", "button_validate", [first])
        assert wizard["res_model"] == "stock.immediate.transfer"
        for move in pickings[0]["move_ids"]:
            demand = await odoo.execute("stock.move", "read", [move], ["product_uom_qty"])
            await odoo.execute(
                "stock.move", "write", [move], {"quantity_done": demand[0]["product_uom_qty"]}
            )
    assert await odoo.execute("stock.picking", "button_validate", [first]) is True
    assert await _on_hand(odoo, tee) == 8.0
    # 17+: the cap had no stock, so nothing was reserved and nothing of it ships;
    # 16 ships what quantity_done says, leaving a negative quant
    shipped_cap = 1.0 if version <= 16 else 0.0
    assert await _on_hand(odoo, cap) == -shipped_cap
    lines = await odoo.execute(
        "sale.order.line",
        "search_read",
        [("order_id", "=", orders[0])],
        ["qty_delivered"],
        order="id",
    )
    assert [line["qty_delivered"] for line in lines] == [2.0, shipped_cap, 0.0]


async def _session(odoo: Odoo) -> tuple[int, int]:
    config = (await odoo.execute("pos.config", "search", [("name", "=", "Shop")]))[0]
    session = await odoo.execute("pos.session", "create", {"config_id": config})
    state = await odoo.execute("pos.session", "read", [session], ["state"])
    # the Shop has a cash method: cash control keeps the session in opening_control
    assert state[0]["state"] == "opening_control"
    opening = "set_cashbox_pos" if odoo.emulator.version <= 17 else "set_opening_control"
    await odoo.execute("pos.session", opening, [session], 0, "")
    return config, session


async def _payment_methods(odoo: Odoo) -> dict[str, int]:
    rows = await odoo.execute("pos.payment.method", "search_read", [], ["name"])
    return {r["name"]: r["id"] for r in rows}


def _ui_order(
    session: int, name: str, product: int, qty: float, price: float, card: int
) -> dict[str, Any]:
    total = qty * price
    return {
        "id": name,
        "to_invoice": False,
        "data": {
            "name": name,
            "pos_session_id": session,
            "server_id": False,
            "user_id": 2,
            "partner_id": False,
            "creation_date": "2026-01-02T10:00:00",
            "sequence_number": 1,
            "lines": [
                [
                    0,
                    0,
                    {
                        "product_id": product,
                        "qty": qty,
                        "price_unit": price,
                        "price_subtotal": total,
                        "price_subtotal_incl": total,
                    },
                ]
            ],
            "statement_ids": [[0, 0, {"amount": total, "payment_method_id": card}]],
            "amount_total": total,
            "amount_paid": total,
            "amount_tax": 0.0,
            "amount_return": 0.0,
        },
    }


def _sync_order(
    session: int, order_uuid: str, product: int, qty: float, price: float, card: int
) -> dict[str, Any]:
    total = qty * price
    return {
        "uuid": order_uuid,
        "name": f"Order {order_uuid[:8]}",
        "session_id": session,
        "state": "paid",
        "lines": [
            [
                0,
                0,
                {
                    "product_id": product,
                    "qty": qty,
                    "price_unit": price,
                    "price_subtotal": total,
                    "price_subtotal_incl": total,
                    "uuid": str(uuid.uuid4()),
                },
            ]
        ],
        "payment_ids": [[0, 0, {"amount": total, "payment_method_id": card}]],
        "amount_total": total,
        "amount_paid": total,
        "amount_tax": 0.0,
        "amount_return": 0.0,
    }


async def test_pos_orders_dedup_and_move_stock(odoo: Odoo) -> None:
    version = odoo.emulator.version
    if version <= 17:  # Odoo's default up to 17 moves POS stock at closing
        await odoo.execute(
            "res.company", "write", [1], {"point_of_sale_update_stock_quantities": "real"}
        )
    product = await _product(odoo, "POS-1", 5.0)
    await _count(odoo, product, 20)
    config, session = await _session(odoo)
    card = (await _payment_methods(odoo))["Card"]
    if version <= 17:
        with pytest.raises(RpcError):
            await odoo.execute("pos.order", "sync_from_ui", [])
        order = _ui_order(session, "Order 00001-001-0001", product, 3, 5.0, card)
        created = await odoo.execute("pos.order", "create_from_ui", [order])
        assert [c["pos_reference"] for c in created] == ["Order 00001-001-0001"]
        replay = await odoo.execute("pos.order", "create_from_ui", [order])
        assert replay == []
        if version == 17:
            # same receipt number, different content: 17 treats it as another order
            other = _ui_order(session, "Order 00001-001-0001", product, 1, 5.0, card)
            assert len(await odoo.execute("pos.order", "create_from_ui", [other])) == 1
    else:
        with pytest.raises(RpcError):
            await odoo.execute("pos.order", "create_from_ui", [])
        order_uuid = str(uuid.uuid4())
        order = _sync_order(session, order_uuid, product, 3, 5.0, card)
        result = await odoo.execute("pos.order", "sync_from_ui", [order])
        assert [o["uuid"] for o in result["pos.order"]] == [order_uuid]
        assert result["pos.order"][0]["state"] == "paid"
        assert len(result["pos.order.line"]) == 1 and len(result["pos.payment"]) == 1
        replay = await odoo.execute("pos.order", "sync_from_ui", [order])
        assert replay["pos.order"] == []
    orders = await odoo.execute(
        "pos.order",
        "search_read",
        [("config_id", "=", config)],
        ["state", "amount_paid", "picking_ids"],
    )
    expected = 2 if version == 17 else 1
    assert len(orders) == expected
    assert all(o["state"] == "paid" and o["picking_ids"] for o in orders)
    assert await _on_hand(odoo, product) == 20.0 - (4 if version == 17 else 3)


async def test_pos_session_rules(odoo: Odoo) -> None:
    config, session = await _session(odoo)
    with pytest.raises(RpcError) as caught:
        await odoo.execute("pos.session", "create", {"config_id": config})
    assert caught.value.name == "odoo.exceptions.ValidationError"
    current = await odoo.execute("pos.config", "read", [config], ["current_session_id"])
    assert current[0]["current_session_id"][0] == session
    await odoo.execute("pos.session", "action_pos_session_closing_control", [session])
    product = await _product(odoo, "LATE")
    card = (await _payment_methods(odoo))["Card"]
    if odoo.emulator.version <= 17:
        call = ("create_from_ui", [_ui_order(session, "Order 9", product, 1, 1.0, card)])
    else:
        call = ("sync_from_ui", [_sync_order(session, str(uuid.uuid4()), product, 1, 1.0, card)])
    with pytest.raises(RpcError) as caught:
        await odoo.execute("pos.order", *call)
    assert caught.value.message.startswith("No open session available.")
    # a new session takes the orders of the closed one
    _, reopened = await _session(odoo)
    await odoo.execute("pos.order", *call)
    moved = await odoo.execute("pos.order", "search_read", [], ["session_id"])
    assert [o["session_id"][0] for o in moved] == [reopened]


async def test_pos_reference_sent_to_sync_from_ui(odoo: Odoo) -> None:
    """18.0 takes ``pos_reference`` from the client's ``name``; 19 keeps ``pos_reference``."""
    if odoo.emulator.version <= 17:
        return
    product = await _product(odoo, "REF")
    _, session = await _session(odoo)
    card = (await _payment_methods(odoo))["Card"]
    both = {**_sync_order(session, str(uuid.uuid4()), product, 1, 1.0, card), "name": "shop/1"}
    both["pos_reference"] = "shop/1"
    named = {**_sync_order(session, str(uuid.uuid4()), product, 1, 1.0, card), "name": "shop/2"}
    referenced = _sync_order(session, str(uuid.uuid4()), product, 1, 1.0, card)
    referenced.pop("name")
    referenced["pos_reference"] = "shop/3"
    result = await odoo.execute("pos.order", "sync_from_ui", [both, named, referenced])
    got = [o["pos_reference"] for o in result["pos.order"]]
    if odoo.emulator.version == 18:
        assert got == ["shop/1", "shop/2", False]
    else:
        assert got == ["shop/1", False, "shop/3"]
    # the client's name is not the order's name: the server names a paid order
    assert not {o["name"] for o in result["pos.order"]} & {"shop/1", "shop/2"}


async def test_an_18_order_without_name_for_a_closed_session_is_a_key_error(odoo: Odoo) -> None:
    if odoo.emulator.version != 18:
        return
    product = await _product(odoo, "NONAME")
    _, session = await _session(odoo)
    await odoo.execute("pos.session", "action_pos_session_closing_control", [session])
    await _session(odoo)
    card = (await _payment_methods(odoo))["Card"]
    order = _sync_order(session, str(uuid.uuid4()), product, 1, 1.0, card)
    order.pop("name")
    with pytest.raises(RpcError) as caught:  # 18.0 _get_valid_session logs order['name']
        await odoo.execute("pos.order", "sync_from_ui", [order])
    assert caught.value.name == "builtins.KeyError"
    order["name"] = "late"
    result = await odoo.execute("pos.order", "sync_from_ui", [order])
    assert [o["pos_reference"] for o in result["pos.order"]] == ["late"]


class _Receiver:
    """A real HTTP endpoint on 127.0.0.1 recording the webhooks it receives."""

    def __init__(self) -> None:
        self.received: asyncio.Queue[dict[str, Any]] = asyncio.Queue()

    def app(self) -> Starlette:
        async def hook(request: Request) -> Response:
            await self.received.put(json.loads(await request.body()))
            return Response(status_code=200)

        return Starlette(routes=[Route("/hook", hook, methods=["POST"])])


@pytest.fixture
async def receiver() -> AsyncIterator[tuple[_Receiver, str]]:
    sink = _Receiver()
    server = uvicorn.Server(
        uvicorn.Config(sink.app(), host="127.0.0.1", port=0, log_level="warning", lifespan="off")
    )
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield sink, f"http://127.0.0.1:{port}/hook"
    finally:
        server.should_exit = True
        await task


@pytest.mark.parametrize("version", ["17", "19"])
async def test_webhook_automation_posts_changed_records(
    version: str, receiver: tuple[_Receiver, str]
) -> None:
    sink, url = receiver
    async for served in running(OdooEmulator(version=version)):
        model = await served.execute("ir.model", "search", [("model", "=", "product.product")])
        fields = await served.execute(
            "ir.model.fields",
            "search",
            [("model", "=", "product.template"), ("name", "in", ["default_code", "list_price"])],
        )
        automation = await served.execute(
            "base.automation",
            "create",
            {"name": "storelink products", "model_id": model[0], "trigger": "on_create_or_write"},
        )
        await served.execute(
            "ir.actions.server",
            "create",
            {
                "name": "notify storelink",
                "model_id": model[0],
                "state": "webhook",
                "webhook_url": url,
                "webhook_field_ids": [(6, 0, fields)],
                "base_automation_id": automation,
                "usage": "base_automation",
            },
        )
        product = await _product(served, "HOOK", 3.0)
        created = await asyncio.wait_for(sink.received.get(), timeout=5)
        assert created["_model"] == "product.product" and created["_id"] == product
        assert created["default_code"] == "HOOK" and created["list_price"] == 3.0
        await served.execute("product.product", "write", [product], {"list_price": 4.0})
        changed = await asyncio.wait_for(sink.received.get(), timeout=5)
        assert changed["_id"] == product and changed["list_price"] == 4.0


async def test_webhook_action_does_not_exist_in_16() -> None:
    async for served in running(OdooEmulator(version="16")):
        model = await served.execute("ir.model", "search", [("model", "=", "product.product")])
        with pytest.raises(RpcError) as caught:
            await served.execute(
                "ir.actions.server",
                "create",
                {"name": "hook", "model_id": model[0], "state": "webhook"},
            )
        assert "Wrong value for ir.actions.server.state" in caught.value.message


async def test_webhooks_never_leave_loopback() -> None:
    async for served in running(OdooEmulator(version="18")):
        model = await served.execute("ir.model", "search", [("model", "=", "res.partner")])
        automation = await served.execute(
            "base.automation",
            "create",
            {"name": "outside", "model_id": model[0], "trigger": "on_create_or_write"},
        )
        await served.execute(
            "ir.actions.server",
            "create",
            {
                "name": "to the internet",
                "model_id": model[0],
                "state": "webhook",
                "webhook_url": "http://example.com/hook",
                "base_automation_id": automation,
            },
        )
        partner = await served.execute("res.partner", "create", {"name": "Hooked"})
        (delivery,) = served.emulator.webhooks.deliveries
        assert delivery.payload["_id"] == partner and delivery.status is None
        assert delivery.error == "not loopback"


async def test_inventory_quantity_auto_apply_applies_at_once(odoo: Odoo) -> None:
    product = await _product(odoo, "AUTO")
    location = await _stock_location(odoo)
    await odoo.execute(
        "stock.quant",
        "create",
        {"product_id": product, "location_id": location, "inventory_quantity_auto_apply": 6},
        context=INVENTORY,
    )
    assert await _on_hand(odoo, product) == 6.0


async def test_pos_stock_moves_at_session_close_when_the_company_says_so() -> None:
    async for served in running(OdooEmulator(version="18")):
        await served.execute(
            "res.company", "write", [1], {"point_of_sale_update_stock_quantities": "closing"}
        )
        product = await _product(served, "CLOSE", 2.0)
        await _count(served, product, 10)
        _, session = await _session(served)
        card = (await _payment_methods(served))["Card"]
        order = _sync_order(session, str(uuid.uuid4()), product, 4, 2.0, card)
        await served.execute("pos.order", "sync_from_ui", [order])
        assert await _on_hand(served, product) == 10.0
        await served.execute("pos.session", "action_pos_session_closing_control", [session])
        assert await _on_hand(served, product) == 6.0
        states = await served.execute("pos.order", "search_read", [], ["state"])
        assert [s["state"] for s in states] == ["done"]
