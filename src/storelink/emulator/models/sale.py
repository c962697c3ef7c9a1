"""``sale`` (+ ``sale_stock``): quotations, confirmation creating the outgoing delivery.

Cancelling and deleting follow ``addons/sale/models/sale_order.py``: ``action_cancel``
refuses a locked order (17+), answers with the ``sale.order.cancel`` wizard action
for a non-draft order unless the context has ``disable_cancel_warning``
(``_show_cancel_wizard``; the action is ``ensure_one``, named ``Cancel <type_name>``
— Quotation for draft/sent/cancel, Sales Order otherwise — with the 16 or 17+
context keys; no mail templates or views here, so their ids are ``False``), and
otherwise cancels the order and — ``sale_stock``'s ``_action_cancel`` — its
deliveries that are not done. Only draft or cancelled orders can be deleted
(``_unlink_except_draft_or_cancel``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from storelink.emulator.exceptions import ProgrammingError, UserError
from storelink.emulator.models.base import default_company
from storelink.emulator.models.stock import (
    MoveLine,
    create_picking,
    picking_cancel,
    picking_confirm,
)
from storelink.emulator.orm import Env
from storelink.emulator.registry import Registry
from storelink.emulator.schema import (
    Field,
    ModelSpec,
    Record,
    char,
    m2m,
    m2o,
    num,
    o2m,
    select,
)

SALESMAN = ("sales_team.group_sale_salesman",)


def line_tax_field(version: int) -> str:
    """``sale.order.line.tax_id`` (16-18) is ``tax_ids`` in 19."""
    return "tax_ids" if version >= 19 else "tax_id"


def line_uom_field(version: int) -> str:
    """``sale.order.line.product_uom`` (16-18) is ``product_uom_id`` in 19."""
    return "product_uom_id" if version >= 19 else "product_uom"


def _first_warehouse(env: Env) -> Any:
    warehouses = sorted(env.table("stock.warehouse"))
    return warehouses[0] if warehouses else False


def _line_subtotal(env: Env, record: Record) -> float:
    gross = float(record.get("price_unit", 0.0)) * float(record.get("product_uom_qty", 0.0))
    return round(gross * (1 - float(record.get("discount", 0.0)) / 100.0), 2)


def _line_tax(env: Env, record: Record) -> float:
    subtotal = _line_subtotal(env, record)
    taxes = env.browse("account.tax", record.get(line_tax_field(env.version)) or [])
    return round(sum(subtotal * float(t.get("amount", 0.0)) / 100.0 for t in taxes), 2)


def _lines(env: Env, order: Record) -> list[Record]:
    return env.referencing("sale.order.line", "order_id", order["id"])


def _delivered(env: Env, record: Record) -> float:
    field = "quantity_done" if env.version <= 16 else "quantity"
    return float(
        sum(
            m.get(field) or 0.0
            for m in env.referencing("stock.move", "sale_line_id", record["id"])
            if m.get("state") == "done"
        )
    )


def install(registry: Registry) -> None:
    v = registry.version
    states: tuple[tuple[str, str], ...] = (
        ("draft", "Quotation"),
        ("sent", "Quotation Sent"),
        ("sale", "Sales Order"),
    )
    if v <= 16:
        states += (("done", "Locked"),)
    states += (("cancel", "Cancelled"),)
    order: dict[str, Field] = {
        "name": char("Order Reference", default="New"),
        "partner_id": m2o("res.partner", "Customer", required=True),
        "client_order_ref": char("Customer Reference"),
        "origin": char("Source Document"),
        "state": select(states, "Status", default="draft"),
        "date_order": Field("datetime", "Order Date", default=lambda env: env.now()),
        "warehouse_id": m2o("stock.warehouse", "Warehouse", default=_first_warehouse),
        "pricelist_id": m2o("product.pricelist", "Pricelist"),
        "company_id": m2o("res.company", "Company", default=default_company),
        "user_id": m2o("res.users", "Salesperson", default=lambda env: env.uid),
        "order_line": o2m("sale.order.line", "order_id", "Order Lines"),
        "picking_ids": o2m("stock.picking", "sale_id", "Transfers"),
        "note": Field("html", "Terms and conditions"),
        "amount_untaxed": Field(
            "monetary",
            "Untaxed Amount",
            compute=lambda env, r: round(
                sum(_line_subtotal(env, line) for line in _lines(env, r)), 2
            ),
        ),
        "amount_tax": Field(
            "monetary",
            "Taxes",
            compute=lambda env, r: round(sum(_line_tax(env, line) for line in _lines(env, r)), 2),
        ),
        "amount_total": Field(
            "monetary",
            "Total",
            compute=lambda env, r: round(
                sum(_line_subtotal(env, line) + _line_tax(env, line) for line in _lines(env, r)), 2
            ),
        ),
    }
    if v >= 17:
        order["locked"] = Field("boolean", "Locked", default=False)
    registry.model(
        ModelSpec(
            "sale.order",
            "Sales Order",
            "sale",
            order,
            order="date_order desc, id desc",
            read_groups=SALESMAN,
            write_groups=SALESMAN,
        )
    )
    registry.model(
        ModelSpec(
            "sale.order.line",
            "Sales Order Line",
            "sale",
            {
                "order_id": m2o("sale.order", "Order Reference", required=True, ondelete="cascade"),
                "name": Field("text", "Description"),
                "product_id": m2o("product.product", "Product"),
                "product_uom_qty": num("Quantity", default=1.0),
                line_uom_field(v): m2o("uom.uom", "Unit of Measure"),
                "price_unit": num("Unit Price"),
                "discount": num("Discount (%)"),
                line_tax_field(v): m2m("account.tax", "Taxes"),
                "price_subtotal": Field("monetary", "Subtotal", compute=_line_subtotal),
                "qty_delivered": Field("float", "Delivery Quantity", compute=_delivered),
                "state": Field(
                    "selection",
                    "Order Status",
                    selection=states,
                    compute=lambda env, r: env.get("sale.order", r["order_id"])["state"],
                ),
            },
            order="order_id, id",
            read_groups=SALESMAN,
            write_groups=SALESMAN,
        )
    )
    registry.on_create("sale.order", _name_order)
    registry.on_create("sale.order.line", _line_defaults)
    registry.method("sale.order", "action_confirm", action_confirm, api_model=False)
    registry.method("sale.order", "action_cancel", action_cancel, api_model=False)
    registry.on_unlink("sale.order", _unlink_except_draft_or_cancel)


def _name_order(env: Env, model: str, ids: list[int], vals: dict[str, Any]) -> None:
    for order in env.browse(model, ids):
        if order.get("name") in (False, "", "New"):
            order["name"] = f"S{env.db.store.next_number('sale.order'):05d}"


def _line_defaults(env: Env, model: str, ids: list[int], vals: dict[str, Any]) -> None:
    # the computed defaults Odoo fills from the product when they are not given
    for line in env.browse(model, ids):
        product = env.table("product.product").get(line.get("product_id") or 0)
        if product is None:
            continue
        if "name" not in vals:
            line["name"] = env.display_name("product.product", product)
        if "price_unit" not in vals:
            line["price_unit"] = float(env.value("product.product", product, "list_price") or 0.0)
        if line_uom_field(env.version) not in vals:
            line[line_uom_field(env.version)] = env.value("product.product", product, "uom_id")
        if line_tax_field(env.version) not in vals:
            line[line_tax_field(env.version)] = list(
                env.value("product.product", product, "taxes_id") or []
            )


def _deliverable(env: Env, product_id: int) -> bool:
    product = env.get("product.product", product_id)
    kind = env.value("product.product", product, "type")
    return bool(kind in ("product", "consu"))


def action_confirm(env: Env, model: str, ids: Sequence[int]) -> bool:
    """Confirm quotations; with ``stock`` installed each gets its outgoing delivery."""
    env.check_access(model, "write")
    orders = [env.get(model, i) for i in ids]
    for order in orders:
        if order["state"] not in ("draft", "sent"):
            raise UserError(
                "The following orders are not in a state requiring confirmation: "
                + ", ".join(o["name"] for o in orders if o["state"] not in ("draft", "sent"))
            )
    for order in orders:
        env.sudo().write(model, [order["id"]], {"state": "sale", "date_order": env.now()})
        if not env.has_model("stock.picking") or not order.get("warehouse_id"):
            continue
        lines = [
            MoveLine(int(line["product_id"]), float(line.get("product_uom_qty", 0.0)), line["id"])
            for line in sorted(_lines(env, order), key=lambda r: r["id"])
            if line.get("product_id") and _deliverable(env, int(line["product_id"]))
        ]
        if not lines:
            continue
        warehouse = env.get("stock.warehouse", order["warehouse_id"])
        picking = create_picking(
            env,
            int(warehouse["out_type_id"]),
            lines,
            origin=str(order["name"]),
            partner_id=order.get("partner_id") or False,
            extra={"sale_id": order["id"]},
        )
        picking_confirm(env.sudo(), "stock.picking", [picking])
    return True


def action_cancel(env: Env, model: str, ids: Sequence[int]) -> bool | dict[str, Any]:
    env.check_access(model, "write")
    orders = [env.get(model, i) for i in ids]
    if env.version >= 17 and any(o.get("locked") for o in orders):
        raise UserError("You cannot cancel a locked order. Please unlock it first.")
    if not env.context.get("disable_cancel_warning") and any(o["state"] != "draft" for o in orders):
        # the wizard asks a person first; its action is for one order (self.ensure_one())
        if len(orders) != 1:
            names = ", ".join(str(o["id"]) for o in orders)
            raise ProgrammingError(f"Expected singleton: sale.order({names})")
        order = orders[0]
        type_name = "Quotation" if order["state"] in ("draft", "sent", "cancel") else "Sales Order"
        context: dict[str, Any] = {
            "default_template_id": False,  # sale.mail_template_sale_cancellation
            "default_order_id": order["id"],
            "mark_so_as_canceled": True,
            "default_email_layout_xmlid": (
                "mail.mail_notification_layout_with_responsible_signature"
            ),
            "model_description": type_name,
        }
        if env.version <= 16:
            context = {"default_use_template": False, **context}
        return {
            "name": f"Cancel {type_name}",
            "view_mode": "form",
            "res_model": "sale.order.cancel",
            "view_id": False,  # sale.sale_order_cancel_view_form
            "type": "ir.actions.act_window",
            "context": context,
            "target": "new",
        }
    for order in orders:
        pickings = [
            p["id"]
            for p in env.referencing("stock.picking", "sale_id", order["id"])
            if p["state"] != "done"
        ]
        if pickings:
            picking_cancel(env.sudo(), "stock.picking", pickings)
        env.sudo().write(model, [order["id"]], {"state": "cancel"})
    return True


def _unlink_except_draft_or_cancel(env: Env, model: str, ids: list[int]) -> None:
    if any(env.get(model, i)["state"] not in ("draft", "cancel") for i in ids):
        raise UserError(
            "You can not delete a sent quotation or a confirmed sales order. "
            "You must first cancel it."
        )
