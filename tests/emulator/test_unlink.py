"""Odoo emulator: what may be deleted or archived, and how a refusal looks, over JSON-RPC."""

from __future__ import annotations

from typing import Any

import pytest

from tests.emulator.support import Odoo, RpcError, count_stock, odoo, storable

__all__ = ["odoo"]

RESTRICTED = "The operation cannot be completed: another model requires the record being deleted."


async def _product(odoo: Odoo, code: str) -> int:
    values = {"name": f"Product {code}", "default_code": code, **storable(odoo.emulator.version)}
    return int((await odoo.execute("product.product", "create", [values]))[0])


async def _warehouse(odoo: Odoo, code: str) -> dict[str, Any]:
    (warehouse_id,) = await odoo.execute(
        "stock.warehouse", "create", [{"name": f"Shop {code}", "code": code}]
    )
    (row,) = await odoo.execute(
        "stock.warehouse",
        "read",
        [warehouse_id],
        ["lot_stock_id", "view_location_id", "out_type_id", "pos_type_id"],
    )
    return dict(row)


async def _exists(odoo: Odoo, model: str, ids: list[int]) -> list[int]:
    return list(await odoo.execute(model, "exists", ids))


async def test_a_referenced_record_is_refused_and_an_unreferenced_one_goes(odoo: Odoo) -> None:
    kept, free = await _product(odoo, "KEPT"), await _product(odoo, "FREE")
    warehouse = await _warehouse(odoo, "U1")
    await count_stock(odoo, kept, warehouse["lot_stock_id"][0], 5)
    await odoo.execute(
        "ir.model.data",
        "create",
        [
            {
                "module": "storelink",
                "name": "product__FREE",
                "model": "product.product",
                "res_id": free,
            }
        ],
    )
    (template,) = await odoo.execute("product.product", "read", [free], ["product_tmpl_id"])
    with pytest.raises(RpcError) as caught:
        await odoo.execute("product.product", "unlink", [kept, free])
    # stock.quant.product_id is ondelete='restrict': the whole statement is refused
    assert caught.value.name == "odoo.exceptions.ValidationError"
    assert caught.value.message.startswith(RESTRICTED)
    assert "Model: Quants (stock.quant)" in caught.value.message
    assert await _exists(odoo, "product.product", [kept, free]) == [kept, free]
    assert await odoo.execute("product.product", "unlink", [free]) is True
    # the last variant takes its template and its external id with it
    assert await _exists(odoo, "product.product", [free]) == []
    assert await _exists(odoo, "product.template", [template["product_tmpl_id"][0]]) == []
    assert await odoo.execute("ir.model.data", "search", [("name", "=", "product__FREE")]) == []
    # a referenced product is archived instead
    await odoo.execute("product.product", "write", [kept], {"active": False})
    rows = await odoo.execute(
        "product.product", "read", [kept], ["active"], context={"active_test": False}
    )
    assert rows[0]["active"] is False


async def test_confirmed_sale_orders_are_cancelled_before_they_can_go(odoo: Odoo) -> None:
    product = await _product(odoo, "SOLD")
    (partner,) = await odoo.execute("res.partner", "create", [{"name": "Buyer"}])
    orders = await odoo.execute(
        "sale.order",
        "create",
        [
            {
                "partner_id": partner,
                "client_order_ref": f"web:{n}",
                "order_line": [[0, 0, {"product_id": product, "product_uom_qty": 1}]],
            }
            for n in range(2)
        ],
    )
    await odoo.execute("sale.order", "action_confirm", orders)
    with pytest.raises(RpcError) as caught:
        await odoo.execute("sale.order", "unlink", orders)
    assert caught.value.message == (
        "You can not delete a sent quotation or a confirmed sales order. You must first cancel it."
    )
    # without disable_cancel_warning a confirmed order gets the wizard, not a cancellation
    wizard = await odoo.execute("sale.order", "action_cancel", orders[:1])
    assert wizard["res_model"] == "sale.order.cancel"
    assert wizard["name"] == "Cancel Sales Order"
    assert wizard["context"]["default_order_id"] == orders[0]
    assert wizard["context"]["mark_so_as_canceled"] is True
    assert ("default_use_template" in wizard["context"]) is (odoo.emulator.version == 16)
    with pytest.raises(RpcError):  # the wizard is for one order (ensure_one)
        await odoo.execute("sale.order", "action_cancel", orders)
    await odoo.execute(
        "sale.order", "action_cancel", orders, context={"disable_cancel_warning": True}
    )
    states = await odoo.execute("sale.order", "read", orders, ["state"])
    assert {s["state"] for s in states} == {"cancel"}
    pickings = await odoo.execute(
        "stock.picking", "search_read", [("sale_id", "in", orders)], ["state"]
    )
    assert len(pickings) == 2 and {p["state"] for p in pickings} == {"cancel"}
    lines = await odoo.execute("sale.order.line", "search", [("order_id", "in", orders)])
    assert await odoo.execute("sale.order", "unlink", orders) is True
    # lines cascade; the transfers stay (sale_id is set null), cancelled ones can go
    assert await _exists(odoo, "sale.order.line", lines) == []
    picking_ids = [p["id"] for p in pickings]
    assert await _exists(odoo, "stock.picking", picking_ids) == picking_ids
    assert await odoo.execute("stock.picking", "unlink", picking_ids) is True
    assert await odoo.execute("stock.move", "search", [("picking_id", "in", picking_ids)]) == []


async def test_done_moves_and_paid_pos_orders_stay(odoo: Odoo) -> None:
    product = await _product(odoo, "MOVED")
    warehouse = await _warehouse(odoo, "U2")
    await count_stock(odoo, product, warehouse["lot_stock_id"][0], 3)
    moves = await odoo.execute("stock.move", "search", [("product_id", "=", product)])
    with pytest.raises(RpcError) as caught:
        await odoo.execute("stock.move", "unlink", moves)
    assert caught.value.message == "You can only delete draft or cancelled moves."
    (config,) = await odoo.execute("pos.config", "search", [("name", "=", "Shop")])
    (session,) = await odoo.execute("pos.session", "create", [{"config_id": config}])
    (order,) = await odoo.execute(
        "pos.order", "create", [{"session_id": session, "amount_total": 0.0}]
    )
    await odoo.execute("pos.order", "write", [order], {"state": "paid"})
    with pytest.raises(RpcError) as caught:
        await odoo.execute("pos.order", "unlink", [order])
    assert caught.value.message == "In order to delete a sale, it must be new or cancelled."
    # a session keeps its config (config_id is required: restrict)
    with pytest.raises(RpcError) as caught:
        await odoo.execute("pos.config", "unlink", [config])
    assert caught.value.message.startswith(RESTRICTED)
    # archiving is not among pos.config's forbidden changes, open session or not
    assert await odoo.execute("pos.config", "write", [config], {"active": False}) is True


async def test_closing_control_closes_and_a_second_close_is_refused(odoo: Odoo) -> None:
    (config,) = await odoo.execute("pos.config", "search", [("name", "=", "Shop")])
    (session,) = await odoo.execute("pos.session", "create", [{"config_id": config}])
    (order,) = await odoo.execute(
        "pos.order", "create", [{"session_id": session, "amount_total": 0.0}]
    )
    with pytest.raises(RpcError) as caught:
        await odoo.execute("pos.session", "action_pos_session_closing_control", [session])
    assert caught.value.message == "You cannot close the POS when orders are still in draft"
    await odoo.execute("pos.order", "write", [order], {"state": "paid"})
    # no cash control: closing control goes straight on to action_pos_session_close
    await odoo.execute("pos.session", "action_pos_session_closing_control", [session])
    (row,) = await odoo.execute("pos.session", "read", [session], ["state", "stop_at"])
    assert row["state"] == "closed" and row["stop_at"]
    for method in ("action_pos_session_close", "action_pos_session_closing_control"):
        with pytest.raises(RpcError) as caught:
            await odoo.execute("pos.session", method, [session])
        assert caught.value.message == "This session is already closed."
    (states,) = await odoo.execute("pos.order", "read", [order], ["state"])
    assert states["state"] == "done"


async def test_closing_control_closes_only_the_first_session_given(odoo: Odoo) -> None:
    configs = await odoo.execute("pos.config", "create", [{"name": "Till A"}, {"name": "Till B"}])
    sessions = await odoo.execute("pos.session", "create", [{"config_id": c} for c in configs])
    await odoo.execute("pos.session", "action_pos_session_closing_control", sessions)
    rows = await odoo.execute("pos.session", "read", sessions, ["state"])
    # no cash method: opened by create up to 17, left in opening_control from 18
    left = "opened" if odoo.emulator.version <= 17 else "opening_control"
    assert {r["id"]: r["state"] for r in rows} == {sessions[0]: "closed", sessions[1]: left}
    with pytest.raises(RpcError):  # _validate_session is ensure_one
        await odoo.execute("pos.session", "action_pos_session_close", sessions)


async def test_pos_rules_on_deleting_customers_and_products(odoo: Odoo) -> None:
    version = odoo.emulator.version
    product = await _product(odoo, "ON-SALE")
    await odoo.execute("product.product", "write", [product], {"available_in_pos": True})
    partners = await odoo.execute("res.partner", "create", [{"name": "Buyer"}, {"name": "Idle"}])
    (config,) = await odoo.execute("pos.config", "search", [("name", "=", "Shop")])
    (session,) = await odoo.execute("pos.session", "create", [{"config_id": config}])
    await odoo.execute(
        "pos.order",
        "create",
        [{"session_id": session, "partner_id": partners[0], "amount_total": 0.0}],
    )
    with pytest.raises(RpcError) as caught:
        await odoo.execute("product.product", "unlink", [product])
    if version <= 17:
        assert caught.value.message == (
            "You cannot delete a product saleable in point of sale while a session is still opened."
        )
    else:
        assert caught.value.message.startswith(
            "To delete a product, make sure all point of sale sessions are closed.\n\n"
        )
    with pytest.raises(RpcError) as caught:
        await odoo.execute("res.partner", "unlink", [partners[1]] if version <= 17 else partners)
    if version <= 17:
        # 16: no contact goes while any session is open
        (name,) = await odoo.execute("pos.session", "read", [session], ["name"])
        assert caught.value.message == (
            "You cannot delete contacts while there are active PoS sessions. "
            f"Close the session(s) {name['name']} first."
        )
    else:
        # 18+: a customer with POS orders stays, whatever the sessions
        assert caught.value.name == "odoo.exceptions.ValidationError"
        assert caught.value.message == (
            "You cannot delete a customer that has point of sales orders. "
            "You can archive it instead."
        )
        assert await odoo.execute("res.partner", "unlink", [partners[1]]) is True


async def test_payments_go_with_a_draft_order_only_from_19(odoo: Odoo) -> None:
    (config,) = await odoo.execute("pos.config", "search", [("name", "=", "Shop")])
    (method,) = await odoo.execute("pos.payment.method", "search", [], limit=1)
    (session,) = await odoo.execute("pos.session", "create", [{"config_id": config}])
    (order,) = await odoo.execute(
        "pos.order", "create", [{"session_id": session, "amount_total": 1.0}]
    )
    await odoo.execute(
        "pos.payment",
        "create",
        [{"pos_order_id": order, "amount": 1.0, "payment_method_id": method}],
    )
    if odoo.emulator.version <= 18:
        with pytest.raises(RpcError) as caught:
            await odoo.execute("pos.order", "unlink", [order])
        assert caught.value.message.startswith(RESTRICTED)
        assert "Constraint: pos_payment_pos_order_id_fkey" in caught.value.message
    else:
        assert await odoo.execute("pos.order", "unlink", [order]) is True


async def test_a_warehouse_is_archived_with_its_locations_once_empty(odoo: Odoo) -> None:
    product = await _product(odoo, "STOCKED")
    warehouse = await _warehouse(odoo, "U3")
    stock = warehouse["lot_stock_id"][0]
    await count_stock(odoo, product, stock, 7)
    with pytest.raises(RpcError) as caught:
        await odoo.execute("stock.warehouse", "write", [warehouse["id"]], {"active": False})
    assert caught.value.message.startswith("You can't disable locations ")
    assert caught.value.message.endswith(" because they still contain products.")
    await count_stock(odoo, product, stock, 0)
    await odoo.execute("stock.warehouse", "write", [warehouse["id"]], {"active": False})
    everything = {"active_test": False}
    locations = await odoo.execute(
        "stock.location",
        "read",
        [stock, warehouse["view_location_id"][0]],
        ["active"],
        context=everything,
    )
    assert [row["active"] for row in locations] == [False, False]
    types = await odoo.execute(
        "stock.picking.type",
        "search_read",
        [("warehouse_id", "=", warehouse["id"])],
        ["active"],
        context=everything,
    )
    assert types and not any(t["active"] for t in types)
    # the code stays taken while archived (warehouse_code_uniq is an SQL constraint)
    with pytest.raises(RpcError) as caught:
        await odoo.execute("stock.warehouse", "create", [{"name": "Other", "code": "U3"}])
    assert "unique" in caught.value.message
    # and reactivating brings the locations and operation types back
    await odoo.execute("stock.warehouse", "write", [warehouse["id"]], {"active": True})
    again = await odoo.execute("stock.location", "read", [stock], ["active"], context=everything)
    assert again[0]["active"] is True


async def test_an_open_operation_keeps_a_warehouse_active(odoo: Odoo) -> None:
    product = await _product(odoo, "ONWAY")
    warehouse = await _warehouse(odoo, "U4")
    (partner,) = await odoo.execute("res.partner", "create", [{"name": "Waiting"}])
    (order,) = await odoo.execute(
        "sale.order",
        "create",
        [
            {
                "partner_id": partner,
                "warehouse_id": warehouse["id"],
                "order_line": [[0, 0, {"product_id": product, "product_uom_qty": 2}]],
            }
        ],
    )
    await odoo.execute("sale.order", "action_confirm", [order])
    with pytest.raises(RpcError) as caught:
        await odoo.execute("stock.warehouse", "write", [warehouse["id"]], {"active": False})
    assert caught.value.message.startswith("You still have ongoing operations for ")
    await odoo.execute(
        "sale.order", "action_cancel", [order], context={"disable_cancel_warning": True}
    )
    assert await odoo.execute("stock.warehouse", "write", [warehouse["id"]], {"active": False})
