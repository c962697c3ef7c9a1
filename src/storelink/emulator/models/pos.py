"""``point_of_sale``: configs, sessions, and order sync from the POS UI with Odoo's dedup rules.

* 16: ``create_from_ui(orders, draft=False)`` skips an order whose ``pos_reference``
  (``data["name"]``) already exists unless that order is a draft — when ``data`` has
  a ``server_id`` key, which the POS UI always sends.
* 17: the same, plus ``_is_the_same_order``: an order with a known ``pos_reference``
  but different payments or lines is created anyway.
* 18+: ``sync_from_ui(orders)`` keyed by ``uuid``; returns records per model.

Deleting follows Odoo's ``@api.ondelete`` checks: an order only when new or
cancelled (``pos_order.py`` ``_unlink_except_draft_or_cancel``), a product
available in the POS not while any session is open (16/17 ``product.py``,
18+ ``product_template.py``/``product_product.py`` ``_unlink_except_open_session``
/ ``_unlink_except_active_pos_session``, each series' wording), a customer not
while any session is open (16 ``res_partner.py`` ``_unlink_except_active_pos_session``)
or, from 18, not once it has POS orders (``_unlink_if_pos_no_orders``, a
ValidationError). Sessions keep their config (``config_id`` required, so
``restrict``); order lines go with their order (``ondelete='cascade'``) but
payments do so only from 19 — 16-18 ``pos_payment.py`` leaves ``pos_order_id``
required without ``ondelete``, so ``restrict``. Archiving a config is not checked
against open sessions: 18's ``pos_config.py`` ``_get_forbidden_change_fields``
does not list ``active``.

Opening follows ``pos_session.py`` as real 17.0 and 18.0 answer: a config has
cash control when it has a cash payment method; ``create`` ends with
``action_pos_session_open``, which leaves a cash-controlled session (any session
from 18) in ``opening_control`` until the POS UI's cash count,
``set_cashbox_pos`` (16/17) or ``set_opening_control`` (18+). Up to 17 the
company default ``point_of_sale_update_stock_quantities`` is ``closing``: POS
orders move stock when their session closes.

Closing follows ``pos_session.py``: ``action_pos_session_closing_control`` refuses
draft orders and a closed session, moves the first session given to
``closing_control`` and closes it straight away (``action_pos_session_close``,
or ``action_pos_session_validate`` with cash control), then returns — the other
sessions given are left as they are. ``action_pos_session_close``
(``_validate_session``) is for one session (``ensure_one``) and refuses a session
already closed when it has orders.

From 18, ``_process_order`` creates the order without the client's ``name`` (the
server names it when paid). 18.0 takes ``pos_reference`` from the client's
``name`` (``'pos_reference': order.get('name')``, overriding a ``pos_reference``
key); 19 keeps the client's ``pos_reference`` (``_complete_values_from_session``
generates one only when none is sent — that generated reference is not emulated).

Skipped orders are absent from the answer, as in Odoo. A 16/17 ``data`` needs
``name``, ``pos_session_id``, ``lines`` (``[0, 0, {product_id, qty, price_unit, …}]``),
``statement_ids`` (``[0, 0, {amount, payment_method_id}]``) and ``amount_total``,
``amount_paid``, ``amount_tax``, ``amount_return`` (a missing one is a ``KeyError``, as
in Odoo); an 18+ order is ``pos.order`` values with ``uuid``, ``session_id``, ``state``,
``lines`` and ``payment_ids`` commands.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from storelink.emulator.exceptions import ProgrammingError, UserError, ValidationError
from storelink.emulator.models.base import default_company
from storelink.emulator.models.stock import (
    MoveLine,
    complete_moves,
    create_picking,
    validate_picking,
)
from storelink.emulator.orm import Env
from storelink.emulator.registry import Registry
from storelink.emulator.schema import (
    Field,
    ModelSpec,
    Record,
    char,
    flag,
    m2m,
    m2o,
    num,
    o2m,
    select,
)

POS_USER = ("point_of_sale.group_pos_user",)
POS_MANAGER = ("point_of_sale.group_pos_manager",)
SESSION_STATES = (
    ("opening_control", "Opening Control"),
    ("opened", "In Progress"),
    ("closing_control", "Closing Control"),
    ("closed", "Closed & Posted"),
)
ORDER_STATES = (
    ("draft", "New"),
    ("cancel", "Cancelled"),
    ("paid", "Paid"),
    ("done", "Posted"),
    ("invoiced", "Invoiced"),
)
#: fields sync_from_ui returns for each record (a subset of ``_load_pos_data_fields``)
ORDER_READ = [
    "id",
    "name",
    "pos_reference",
    "uuid",
    "state",
    "session_id",
    "amount_total",
    "amount_paid",
    "partner_id",
    "to_invoice",
    "account_move",
    "date_order",
]
LINE_READ = [
    "id",
    "order_id",
    "product_id",
    "qty",
    "price_unit",
    "price_subtotal",
    "price_subtotal_incl",
    "uuid",
]
PAYMENT_READ = ["id", "pos_order_id", "amount", "payment_method_id"]


def _current_session(env: Env, record: Record) -> Any:
    for session in sorted(env.table("pos.session").values(), key=lambda s: -s["id"]):
        if session.get("config_id") == record["id"] and session.get("state") != "closed":
            return session["id"]
    return False


def _session_state(env: Env, record: Record) -> Any:
    session = env.table("pos.session").get(_current_session(env, record) or 0)
    return session["state"] if session else False


def _has_cash_method(env: Env, record: Record) -> bool:
    """``pos.config._compute_cash_control``: cash control comes with a cash payment method."""
    methods = env.browse("pos.payment.method", record.get("payment_method_ids") or [])
    return any(m.get("is_cash_count") for m in methods)


def install(registry: Registry) -> None:
    v = registry.version
    registry.model(
        ModelSpec(
            "pos.payment.method",
            "Point of Sale Payment Methods",
            "point_of_sale",
            {
                "name": char("Method", required=True),
                "sequence": Field("integer", "Sequence"),
                "is_cash_count": flag("Cash"),
                "journal_id": m2o("account.journal", "Journal"),
                "company_id": m2o("res.company", "Company", default=default_company),
                "active": flag("Active", default=True),
            },
            # 17/18 pos_payment_method.py: _order = "sequence, id"
            order="sequence, id",
            read_groups=POS_USER,
            write_groups=POS_MANAGER,
        )
    )
    registry.model(
        ModelSpec(
            "pos.config",
            "Point of Sale Configuration",
            "point_of_sale",
            {
                "name": char("Point of Sale", required=True),
                "picking_type_id": m2o("stock.picking.type", "Operation Type"),
                "warehouse_id": m2o("stock.warehouse", "Warehouse"),
                "company_id": m2o("res.company", "Company", default=default_company),
                "payment_method_ids": m2m("pos.payment.method", "Payment Methods"),
                "pricelist_id": m2o("product.pricelist", "Default Pricelist"),
                "cash_control": Field("boolean", "Advanced Cash Control", compute=_has_cash_method),
                "active": flag("Active", default=True),
                "current_session_id": Field(
                    "many2one", "Current Session", relation="pos.session", compute=_current_session
                ),
                "current_session_state": Field(
                    "char", "Current Session State", compute=_session_state
                ),
            },
            read_groups=POS_USER,
            write_groups=POS_MANAGER,
        )
    )
    registry.model(
        ModelSpec(
            "pos.session",
            "Point of Sale Session",
            "point_of_sale",
            {
                "name": char("Session ID", default="/"),
                "config_id": m2o("pos.config", "Point of Sale", required=True),
                "user_id": m2o("res.users", "Opened By", default=lambda env: env.uid),
                "state": select(SESSION_STATES, "Status", default="opening_control"),
                "start_at": Field("datetime", "Opening Date"),
                "stop_at": Field("datetime", "Closing Date"),
                "company_id": m2o("res.company", "Company", default=default_company),
                "order_ids": o2m("pos.order", "session_id", "Orders"),
                "picking_ids": o2m("stock.picking", "pos_session_id", "Pickings"),
                "update_stock_at_closing": flag("Stock should be updated at closing"),
                "cash_register_balance_start": num("Starting Balance", readonly=True),
                "cash_register_balance_end_real": num("Ending Balance", readonly=True),
                "opening_notes": Field("text", "Opening Notes"),
                "rescue": flag("Recovery Session", readonly=True),
                "sequence_number": Field("integer", "Order Sequence Number", default=1),
            },
            order="id desc",
            read_groups=POS_USER,
            write_groups=POS_USER,
        )
    )
    order: dict[str, Field] = {
        "name": char("Order Ref", default="/"),
        "pos_reference": char("Receipt Number"),
        "session_id": m2o("pos.session", "Session", required=True),
        "config_id": m2o("pos.config", "Point of Sale"),
        "partner_id": m2o("res.partner", "Customer"),
        "user_id": m2o("res.users", "Employee", default=lambda env: env.uid),
        "date_order": Field("datetime", "Date", default=lambda env: env.now()),
        "lines": o2m("pos.order.line", "order_id", "Order Lines"),
        "payment_ids": o2m("pos.payment", "pos_order_id", "Payments"),
        "picking_ids": o2m("stock.picking", "pos_order_id", "Pickings"),
        "amount_total": num("Total"),
        "amount_tax": num("Taxes"),
        "amount_paid": num("Paid"),
        "amount_return": num("Returned"),
        "state": select(ORDER_STATES, "Status", default="draft"),
        "company_id": m2o("res.company", "Company", default=default_company),
        "account_move": m2o("account.move", "Invoice"),
        "to_invoice": flag("To invoice"),
        "sequence_number": Field("integer", "Sequence Number"),
        "pricelist_id": m2o("product.pricelist", "Pricelist"),
    }
    line: dict[str, Field] = {
        "order_id": m2o("pos.order", "Order Ref", required=True, ondelete="cascade"),
        "name": char("Line No"),
        "product_id": m2o("product.product", "Product", required=True),
        "full_product_name": char("Full Product Name"),
        "qty": num("Quantity", default=1.0),
        "price_unit": num("Unit Price"),
        "discount": num("Discount (%)"),
        "price_subtotal": num("Tax Excl."),
        "price_subtotal_incl": num("Tax Incl."),
        "tax_ids": m2m("account.tax", "Taxes"),
    }
    if v >= 18:
        order["uuid"] = char("Uuid")
        line["uuid"] = char("Uuid")
    registry.model(
        ModelSpec(
            "pos.order",
            "Point of Sale Orders",
            "point_of_sale",
            order,
            order="date_order desc, name desc, id desc",
            read_groups=POS_USER,
            write_groups=POS_USER,
        )
    )
    registry.model(
        ModelSpec(
            "pos.order.line",
            "Point of Sale Order Lines",
            "point_of_sale",
            line,
            rec_name="name",
            read_groups=POS_USER,
            write_groups=POS_USER,
        )
    )
    registry.model(
        ModelSpec(
            "pos.payment",
            "Point of Sale Payments",
            "point_of_sale",
            {
                "name": char("Label"),
                # 19 pos_payment.py: ondelete='cascade'; 16-18: none, so restrict
                "pos_order_id": m2o(
                    "pos.order",
                    "Order",
                    required=True,
                    ondelete="cascade" if v >= 19 else None,
                ),
                "amount": num("Amount", required=True),
                "payment_method_id": m2o("pos.payment.method", "Payment Method", required=True),
                "payment_date": Field("datetime", "Date", default=lambda env: env.now()),
                "session_id": Field(
                    "many2one",
                    "Session",
                    relation="pos.session",
                    compute=lambda env, r: env.get("pos.order", r["pos_order_id"]).get(
                        "session_id"
                    ),
                ),
                "is_change": flag("Is this payment change?"),
            },
            order="id desc",
            read_groups=POS_USER,
            write_groups=POS_USER,
        )
    )
    company = registry.specs.get("res.company")
    if v <= 17 and company is not None:
        # point_of_sale's res_company.py: up to 17 POS orders move stock when the
        # session closes unless the company says real time (the default is 'closing')
        company.fields["point_of_sale_update_stock_quantities"] = select(
            (("closing", "At the session closing"), ("real", "In real time")),
            "Update quantities in stock",
            default="closing",
        )
    registry.on_create("pos.session", _open_session)
    registry.on_create("pos.payment.method", _cash_from_journal)
    registry.on_create("pos.config", _check_cash_methods)
    registry.on_write("pos.config", _check_cash_methods)
    registry.on_unlink("pos.order", _unlink_except_draft_or_cancel)
    registry.on_unlink("product.product", _unlink_except_active_pos_session)
    registry.on_unlink("product.template", _unlink_except_active_pos_session)
    if v <= 17:
        registry.on_unlink("res.partner", _unlink_except_active_pos_session_partner)
    else:
        registry.on_unlink("res.partner", _unlink_if_pos_no_orders)
    registry.on_create("pos.order", _name_order)
    registry.method("pos.session", "action_pos_session_open", session_open, api_model=False)
    registry.method(
        "pos.session",
        "action_pos_session_closing_control",
        session_closing_control,
        api_model=False,
    )
    registry.method("pos.session", "action_pos_session_close", session_close, api_model=False)
    # the POS UI's opening cash count: set_cashbox_pos up to 17, set_opening_control from 18
    opening = "set_cashbox_pos" if v <= 17 else "set_opening_control"
    registry.method("pos.session", opening, set_opening_control, api_model=False)
    if v <= 17:
        registry.method("pos.order", "create_from_ui", create_from_ui, api_model=True)
    else:
        registry.method("pos.order", "sync_from_ui", sync_from_ui, api_model=True)


# -- deleting and archiving ----------------------------------------------------------------------
def _unlink_except_draft_or_cancel(env: Env, model: str, ids: list[int]) -> None:
    if any(env.get(model, i)["state"] not in ("draft", "cancel") for i in ids):
        raise UserError("In order to delete a sale, it must be new or cancelled.")


def _open_sessions(env: Env) -> list[Record]:
    return [s for s in env.table("pos.session").values() if s.get("state") != "closed"]


#: 16/17 ``product.py``; 18+ replaced it with the hamburger
PRODUCT_IN_OPEN_SESSION_16 = (
    "You cannot delete a product saleable in point of sale while a session is still opened."
)
PRODUCT_IN_OPEN_SESSION_18 = (
    "To delete a product, make sure all point of sale sessions are closed.\n\n"
    "Deleting a product available in a session would be like attempting to snatch a "
    "hamburger from a customer\u2019s hand mid-bite; chaos will ensue as ketchup and mayo "
    "go flying everywhere!"
)


def _unlink_except_active_pos_session(env: Env, model: str, ids: list[int]) -> None:
    """``product.product`` / ``product.template``: any open session, any POS product."""
    if not _open_sessions(env):
        return
    if any(env.value(model, env.get(model, i), "available_in_pos") for i in ids):
        raise UserError(
            PRODUCT_IN_OPEN_SESSION_16 if env.version <= 17 else PRODUCT_IN_OPEN_SESSION_18
        )


def _unlink_except_active_pos_session_partner(env: Env, model: str, ids: list[int]) -> None:
    """16 ``res_partner.py``: no contact is deleted while any session is open."""
    running = sorted(_open_sessions(env), key=lambda s: -int(s["id"]))  # pos.session: id desc
    if running:
        raise UserError(
            "You cannot delete contacts while there are active PoS sessions. "
            f"Close the session(s) {', '.join(str(s['name']) for s in running)} first."
        )


def _unlink_if_pos_no_orders(env: Env, model: str, ids: list[int]) -> None:
    """18+ ``res_partner.py``: a customer with POS orders is archived, not deleted."""
    wanted = set(ids)
    if any(o.get("partner_id") in wanted for o in env.table("pos.order").values()):
        raise ValidationError(
            "You cannot delete a customer that has point of sales orders. "
            "You can archive it instead."
        )


# -- payment methods ----------------------------------------------------------------------------
def _cash_from_journal(env: Env, model: str, ids: list[int], vals: dict[str, Any]) -> None:
    """``is_cash_count`` follows the journal: a method on a cash journal counts cash."""
    for method in env.browse(model, ids):
        journal = env.table("account.journal").get(method.get("journal_id") or 0)
        if journal is not None:
            method["is_cash_count"] = journal.get("type") == "cash"


def _check_cash_methods(env: Env, model: str, ids: list[int], vals: dict[str, Any]) -> None:
    """``pos.config._check_payment_method_ids_journal``: a cash method serves one config.

    Real 17.0 and 18.0 refuse a second config on the same cash method, so each
    store needs its own cash journal and method.
    """
    configs = env.table(model)
    for config in env.browse(model, ids):
        for method_id in config.get("payment_method_ids") or []:
            method = env.table("pos.payment.method").get(method_id)
            if not method or not method.get("is_cash_count") or not method.get("journal_id"):
                continue
            if any(
                other["id"] != config["id"] and method_id in (other.get("payment_method_ids") or [])
                for other in configs.values()
            ):
                raise ValidationError(
                    "This cash payment method is already used in another Point of Sale.\n"
                    "A new cash payment method should be created for this Point of Sale."
                )


# -- sessions -----------------------------------------------------------------------------------
def _open_session(env: Env, model: str, ids: list[int], vals: dict[str, Any]) -> None:
    for session in env.browse(model, ids):
        config = env.get("pos.config", session["config_id"])
        others = [
            s
            for s in env.table(model).values()
            if s["id"] != session["id"]
            and s.get("config_id") == config["id"]
            and s.get("state") != "closed"
        ]
        if others:
            del env.table(model)[session["id"]]
            raise ValidationError("Another session is already opened for this point of sale.")
        company = env.table("res.company").get(config.get("company_id") or 1)
        session["update_stock_at_closing"] = (
            company is not None
            and company.get("point_of_sale_update_stock_quantities") == "closing"
        )
        if session.get("name") in (False, "/", ""):
            session["name"] = f"POS/{env.db.store.next_number('pos.session'):05d}"
        # create ends with action_pos_session_open
        _open(env, session)


def _open(env: Env, session: Record) -> None:
    """``action_pos_session_open`` on one session in ``opening_control``.

    It stamps ``start_at``; with cash control (a cash payment method on the
    config) it takes the opening balance from the config's previous session and
    leaves the session in ``opening_control`` for the POS UI's cash count. Up to
    17 a session without cash control is opened here; from 18 every session
    stays in ``opening_control`` until ``set_opening_control`` (as real 18.0 does).
    """
    values: dict[str, Any] = {}
    if not session.get("start_at"):
        values["start_at"] = env.now()
    config = env.get("pos.config", session["config_id"])
    if env.value("pos.config", config, "cash_control") and not session.get("rescue"):
        previous = [
            s
            for s in env.table("pos.session").values()
            if s.get("config_id") == config["id"] and s["id"] != session["id"]
        ]
        last = max(previous, key=lambda s: int(s["id"]), default=None)  # pos.session: id desc
        values["cash_register_balance_start"] = (
            float(last.get("cash_register_balance_end_real") or 0.0) if last else 0.0
        )
    elif env.version <= 17:
        values["state"] = "opened"
    env.sudo().write("pos.session", [session["id"]], values)


def session_open(env: Env, model: str, ids: Sequence[int]) -> bool:
    env.check_access(model, "write")
    for session_id in ids:
        session = env.get(model, session_id)
        if session["state"] == "opening_control":
            _open(env, session)
    return True


def set_opening_control(
    env: Env, model: str, ids: Sequence[int], cashbox_value: float, notes: str
) -> None:
    """``set_cashbox_pos`` (16/17) / ``set_opening_control`` (18+): the opening cash count.

    Opens the session; with a cash method it records ``cashbox_value`` as the
    opening balance and the notes. Returns nothing (no ``result`` in the answer).
    """
    env.check_access(model, "write")
    if len(ids) != 1:
        raise ProgrammingError(f"Expected singleton: {model}({', '.join(map(str, ids))})")
    session = env.get(model, ids[0])
    values: dict[str, Any] = {"state": "opened"}
    config = env.get("pos.config", session["config_id"])
    if env.version <= 17 or env.value("pos.config", config, "cash_control"):
        values["opening_notes"] = notes
        values["cash_register_balance_start"] = float(cashbox_value or 0.0)
    env.sudo().write(model, [session["id"]], values)


def session_closing_control(env: Env, model: str, ids: Sequence[int]) -> Any:
    """``action_pos_session_closing_control``: closes the first session given and returns."""
    env.check_access(model, "write")
    for session_id in ids:
        session = env.get(model, session_id)
        orders = env.referencing("pos.order", "session_id", session_id)
        if any(o["state"] == "draft" for o in orders):
            raise UserError("You cannot close the POS when orders are still in draft")
        if session["state"] == "closed":
            raise UserError("This session is already closed.")
        stop_at = session.get("stop_at") or env.now()
        env.sudo().write(model, [session_id], {"state": "closing_control", "stop_at": stop_at})
        # without cash control action_pos_session_close, with it action_pos_session_validate,
        # which closes too; either way the loop ends with the first session
        return session_close(env, model, [session_id])
    return None


def session_close(env: Env, model: str, ids: Sequence[int]) -> bool:
    """``action_pos_session_close`` / ``_validate_session`` (``ensure_one``).

    With stock updated at closing, the session's orders move stock now.
    """
    env.check_access(model, "write")
    if len(ids) != 1:
        raise ProgrammingError(f"Expected singleton: {model}({', '.join(map(str, ids))})")
    session_id = ids[0]
    session = env.get(model, session_id)
    orders = [
        o for o in env.referencing("pos.order", "session_id", session_id) if o["state"] != "cancel"
    ]
    if orders and session["state"] == "closed":
        raise UserError("This session is already closed.")
    if orders and session.get("update_stock_at_closing"):
        for order in orders:
            if order["state"] == "paid" and not env.referencing(
                "stock.picking", "pos_order_id", order["id"]
            ):
                _picking_for(env, order)
    for order in orders:
        if order["state"] == "paid":
            env.sudo().write("pos.order", [order["id"]], {"state": "done"})
    env.sudo().write(model, [session_id], {"state": "closed"})
    return True


def _valid_session(env: Env, session_id: int) -> int:
    session = env.get("pos.session", session_id)
    if session["state"] not in ("closing_control", "closed"):
        return session_id
    for other in env.table("pos.session").values():
        if other.get("config_id") == session["config_id"] and other["state"] not in (
            "closed",
            "closing_control",
        ):
            return int(other["id"])
    raise UserError("No open session available. Please open a new session to capture the order.")


# -- orders -------------------------------------------------------------------------------------
def _name_order(env: Env, model: str, ids: list[int], vals: dict[str, Any]) -> None:
    for order in env.browse(model, ids):
        session = env.get("pos.session", order["session_id"])
        config = env.get("pos.config", session["config_id"])
        order["config_id"] = config["id"]
        if order.get("name") in (False, "/", ""):
            counter = f"pos.order.{config['id']}"
            order["name"] = f"{config['name']}/{env.db.store.next_number(counter):04d}"


def _paid(order: Record) -> bool:
    return abs(float(order.get("amount_total", 0.0)) - float(order.get("amount_paid", 0.0))) < 0.005


def _picking_for(env: Env, order: Record) -> None:
    config = env.get("pos.config", order["config_id"])
    if not config.get("picking_type_id") or not env.has_model("stock.picking"):
        return
    lines = []
    for line in env.referencing("pos.order.line", "order_id", order["id"]):
        product = env.get("product.product", line["product_id"])
        if env.value("product.product", product, "type") in ("product", "consu"):
            lines.append(MoveLine(int(line["product_id"]), float(line.get("qty", 0.0))))
    if not lines:
        return
    picking = create_picking(
        env,
        int(config["picking_type_id"]),
        lines,
        origin=str(order["name"]),
        partner_id=order.get("partner_id") or False,
        extra={"pos_order_id": order["id"], "pos_session_id": order["session_id"]},
    )
    complete_moves(env, picking)
    validate_picking(env, picking)


def _finish(env: Env, order_id: int, draft: bool) -> None:
    order = env.get("pos.order", order_id)
    if draft:
        return
    # action_pos_order_paid failing is only logged by _process_order; the order stays draft
    if _paid(order):
        env.sudo().write("pos.order", [order_id], {"state": "paid"})
    session = env.get("pos.session", order["session_id"])
    if not session.get("update_stock_at_closing"):
        _picking_for(env, env.get("pos.order", order_id))


def _add_payments(env: Env, order_id: int, commands: Sequence[Any], amount_return: float) -> None:
    sudo = env.sudo()
    for command in commands or []:
        values = dict(command[2]) if isinstance(command, (list, tuple)) else dict(command)
        values.pop("pos_order_id", None)
        known = {
            k: v
            for k, v in values.items()
            if k in ("amount", "payment_method_id", "name", "payment_date", "is_change")
        }
        sudo.create("pos.payment", [{**known, "pos_order_id": order_id}])
    if amount_return:
        order = env.get("pos.order", order_id)
        config = env.get("pos.config", order["config_id"])
        methods = env.browse("pos.payment.method", config.get("payment_method_ids") or [])
        cash = next((m for m in methods if m.get("is_cash_count")), None)
        if cash is not None:
            sudo.create(
                "pos.payment",
                [
                    {
                        "name": "return",
                        "pos_order_id": order_id,
                        "amount": -amount_return,
                        "payment_method_id": cash["id"],
                        "is_change": True,
                    }
                ],
            )
    paid = sum(p["amount"] for p in env.referencing("pos.payment", "pos_order_id", order_id))
    sudo.write("pos.order", [order_id], {"amount_paid": paid})


def _line_commands(lines: Sequence[Any], allowed: set[str]) -> list[Any]:
    commands = []
    for line in lines or []:
        values = dict(line[2]) if isinstance(line, (list, tuple)) else dict(line)
        commands.append((0, 0, {k: v for k, v in values.items() if k in allowed}))
    return commands


def _process_ui_order(env: Env, data: dict[str, Any], draft: bool, existing: int | None) -> int:
    """16/17 ``_process_order`` on the ``data`` of one UI order."""
    sudo = env.sudo()
    try:
        session_id = _valid_session(env, int(data["pos_session_id"]))
        lines = data["lines"]
        name = data["name"]
        amounts = {
            k: float(data[k])
            for k in ("amount_paid", "amount_total", "amount_tax", "amount_return")
        }
    except KeyError as exc:
        raise ProgrammingError(repr(exc.args[0]), "KeyError") from exc
    line_fields = set(env.spec("pos.order.line").fields)
    vals: dict[str, Any] = {
        "session_id": session_id,
        "pos_reference": name,
        "partner_id": data.get("partner_id") or False,
        "sequence_number": data.get("sequence_number") or 0,
        "date_order": str(data.get("creation_date") or env.now()).replace("T", " ")[:19],
        "to_invoice": bool(data.get("to_invoice")),
        "lines": _line_commands(lines, line_fields - {"order_id"}),
        **{k: v for k, v in amounts.items() if k != "amount_paid"},
    }
    if data.get("user_id"):
        vals["user_id"] = data["user_id"]
    if existing is None:
        order_id = sudo.create("pos.order", [vals])[0]
    else:
        order_id = existing
        old = [r["id"] for r in env.referencing("pos.order.line", "order_id", order_id)]
        sudo.unlink("pos.order.line", old)
        sudo.write("pos.order", [order_id], vals)
    _add_payments(
        env, order_id, data.get("statement_ids") or [], 0.0 if draft else amounts["amount_return"]
    )
    _finish(env, order_id, draft)
    return order_id


def _same_order(env: Env, data: dict[str, Any], order: Record, payments_key: str) -> bool:
    received = [
        (float(p[2]["amount"]), p[2]["payment_method_id"]) for p in data.get(payments_key) or []
    ]
    existing = [
        (float(p["amount"]), p["payment_method_id"])
        for p in env.referencing("pos.payment", "pos_order_id", order["id"])
    ]
    for amount, method in received:
        if not any(abs(amount - a) < 0.005 and method == m for a, m in existing):
            return False
    lines = env.referencing("pos.order.line", "order_id", order["id"])
    if len(data.get("lines") or []) != len(lines):
        return False
    got = sorted((line[2]["product_id"], float(line[2]["price_unit"])) for line in data["lines"])
    have = sorted((r["product_id"], float(r["price_unit"])) for r in lines)
    return got == have


def create_from_ui(
    env: Env, model: str, orders: Sequence[dict[str, Any]], draft: bool = False
) -> list[dict[str, Any]]:
    env.check_access(model, "create")
    order_ids: list[int] = []
    for order in orders:
        data = order["data"]
        if env.version <= 16:
            existing = None
            if "server_id" in data:
                found = env.search(
                    model,
                    ["|", ("id", "=", data["server_id"]), ("pos_reference", "=", data["name"])],
                    limit=1,
                )
                existing = found[0] if found else None
            if existing is None:
                order_ids.append(_process_ui_order(env, data, draft, None))
            elif env.get(model, existing)["state"] == "draft":
                order_ids.append(_process_ui_order(env, data, draft, existing))
            continue
        draft_order = None
        if data.get("server_id"):
            found = env.search(
                model, ["&", ("id", "=", data["server_id"]), ("state", "=", "draft")], limit=1
            )
            if not found:
                continue
            draft_order = found[0]
        if draft_order is None:
            found = env.search(
                model, ["&", ("pos_reference", "=", data["name"]), ("state", "=", "draft")], limit=1
            )
            draft_order = found[0] if found else None
        if draft_order is not None:
            order_ids.append(_process_ui_order(env, data, draft, draft_order))
            continue
        same_ref = env.browse(model, env.search(model, [("pos_reference", "=", data["name"])]))
        if all(not _same_order(env, data, o, "statement_ids") for o in same_ref):
            order_ids.append(_process_ui_order(env, data, draft, None))
    ids = env.search(model, [("id", "in", order_ids)])
    return env.read(model, ids, ["id", "pos_reference", "account_move"], load=None)


def _process_sync_order(env: Env, data: dict[str, Any], existing: int | None) -> int:
    """18+ ``_process_order``: ``data`` holds pos.order values with x2many commands."""
    sudo = env.sudo()
    draft = data.get("state") == "draft"
    if "session_id" not in data:
        raise ProgrammingError("'session_id'", "KeyError")
    session = env.get("pos.session", int(data["session_id"]))
    if (
        env.version == 18
        and session["state"] in ("closing_control", "closed")
        and "name" not in data
    ):
        # 18.0 _get_valid_session logs order['name'] (19 logs order['uuid'])
        raise ProgrammingError("'name'", "KeyError")
    session_id = _valid_session(env, int(data["session_id"]))
    order_fields = set(env.spec("pos.order").fields) - {
        "payment_ids",
        "picking_ids",
        "state",
        "name",
        "amount_paid",
        "config_id",
    }
    line_fields = set(env.spec("pos.order.line").fields) - {"order_id"}
    vals = {k: v for k, v in data.items() if k in order_fields and k != "lines"}
    vals["session_id"] = session_id
    vals["lines"] = _line_commands(data.get("lines") or [], line_fields)
    if env.version <= 18 and existing is None:
        # 18.0 _process_order: create({..., 'pos_reference': order.get('name')})
        vals["pos_reference"] = data.get("name") or False
    if vals.get("partner_id") and vals["partner_id"] not in env.table("res.partner"):
        vals["partner_id"] = False
    if existing is None:
        order_id = sudo.create("pos.order", [vals])[0]
    else:
        order_id = existing
        old = [r["id"] for r in env.referencing("pos.order.line", "order_id", order_id)]
        sudo.unlink("pos.order.line", old)
        old_payments = [p["id"] for p in env.referencing("pos.payment", "pos_order_id", order_id)]
        sudo.unlink("pos.payment", old_payments)
        sudo.write("pos.order", [order_id], vals)
    amount_return = 0.0 if draft else float(data.get("amount_return") or 0.0)
    _add_payments(env, order_id, data.get("payment_ids") or [], amount_return)
    _finish(env, order_id, draft)
    return order_id


def sync_from_ui(env: Env, model: str, orders: Sequence[dict[str, Any]]) -> dict[str, Any]:
    env.check_access(model, "create")
    order_ids: list[int] = []
    for order in orders:
        found = env.search(model, [("uuid", "=", order.get("uuid"))], limit=1)
        existing = found[0] if found else None
        if existing is not None and env.get(model, existing)["state"] == "draft":
            order_ids.append(_process_sync_order(env, dict(order), existing))
        elif existing is None:
            order_ids.append(_process_sync_order(env, dict(order), None))
        # otherwise Odoo logs "unprocessed order" and leaves it out of the answer
    lines = [r["id"] for o in order_ids for r in env.referencing("pos.order.line", "order_id", o)]
    payments = [
        r["id"] for o in order_ids for r in env.referencing("pos.payment", "pos_order_id", o)
    ]
    return {
        "pos.order": env.read(model, order_ids, ORDER_READ, load=None),
        "pos.session": [],
        "pos.payment": env.read("pos.payment", payments, PAYMENT_READ, load=None),
        "pos.order.line": env.read("pos.order.line", lines, LINE_READ, load=None),
        "pos.pack.operation.lot": [],
        "product.attribute.custom.value": [],
    }
