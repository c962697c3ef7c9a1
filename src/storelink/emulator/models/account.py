"""``account``: journals, and customer invoices (``account.move``) that can be posted."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from storelink.emulator.exceptions import UserError
from storelink.emulator.models.base import default_company
from storelink.emulator.orm import Env
from storelink.emulator.registry import Registry
from storelink.emulator.schema import (
    Field,
    ModelSpec,
    Record,
    char,
    m2o,
    num,
    o2m,
    select,
)

BILLING = ("account.group_account_invoice",)


def _total(env: Env, record: Record) -> float:
    lines = env.referencing("account.move.line", "move_id", record["id"])
    return round(sum(float(r.get("quantity", 0)) * float(r.get("price_unit", 0)) for r in lines), 2)


JOURNAL_TYPES = (
    ("sale", "Sales"),
    ("purchase", "Purchase"),
    ("cash", "Cash"),
    ("bank", "Bank"),
    ("general", "Miscellaneous"),
)


def install(registry: Registry) -> None:
    registry.model(
        ModelSpec(
            "account.journal",
            "Journal",
            "account",
            {
                "name": char("Journal Name", required=True),
                # account_journal.py: code = fields.Char(size=5, required=True)
                "code": char("Short Code", required=True, size=5),
                "type": select(JOURNAL_TYPES, "Type", required=True),
                "company_id": m2o("res.company", "Company", default=default_company),
                "active": Field("boolean", "Active", default=True),
            },
            read_groups=BILLING,
            write_groups=BILLING,
        )
    )
    registry.model(
        ModelSpec(
            "account.move",
            "Journal Entry",
            "account",
            {
                "name": char("Number", default="/"),
                "move_type": select(
                    (
                        ("entry", "Journal Entry"),
                        ("out_invoice", "Customer Invoice"),
                        ("out_refund", "Customer Credit Note"),
                        ("in_invoice", "Vendor Bill"),
                        ("in_refund", "Vendor Credit Note"),
                    ),
                    "Type",
                    default="entry",
                    required=True,
                ),
                "state": select(
                    (("draft", "Draft"), ("posted", "Posted"), ("cancel", "Cancelled")),
                    "Status",
                    default="draft",
                ),
                "partner_id": m2o("res.partner", "Partner"),
                "ref": char("Reference"),
                "invoice_origin": char("Origin"),
                "invoice_date": Field("date", "Invoice/Bill Date"),
                "payment_state": select(
                    (
                        ("not_paid", "Not Paid"),
                        ("in_payment", "In Payment"),
                        ("paid", "Paid"),
                        ("partial", "Partially Paid"),
                        ("reversed", "Reversed"),
                    ),
                    "Payment Status",
                    default="not_paid",
                ),
                "company_id": m2o("res.company", "Company", default=default_company),
                "invoice_line_ids": o2m("account.move.line", "move_id", "Invoice lines"),
                "amount_total": Field("monetary", "Total", compute=_total),
            },
            order="id desc",
            read_groups=BILLING,
            write_groups=BILLING,
        )
    )
    registry.model(
        ModelSpec(
            "account.move.line",
            "Journal Item",
            "account",
            {
                "move_id": m2o("account.move", "Journal Entry", required=True, ondelete="cascade"),
                "name": char("Label"),
                # account_move_line.py: product_id is ondelete='restrict'
                "product_id": m2o("product.product", "Product", ondelete="restrict"),
                "quantity": num("Quantity", default=1.0),
                "price_unit": num("Unit Price"),
            },
            read_groups=BILLING,
            write_groups=BILLING,
        )
    )
    registry.method("account.move", "action_post", action_post, api_model=False)


def action_post(env: Env, model: str, ids: Sequence[int]) -> bool:
    env.check_access(model, "write")
    for move_id in ids:
        move = env.get(model, move_id)
        if move["state"] == "posted":
            raise UserError("The entry is already posted.")
        values: dict[str, Any] = {"state": "posted"}
        if move.get("name") in (False, "/", ""):
            year = env.now()[:4]
            prefix = "INV" if move.get("move_type") == "out_invoice" else "MISC"
            values["name"] = f"{prefix}/{year}/{env.db.store.next_number(prefix + year):05d}"
        if not move.get("invoice_date") and move.get("move_type") != "entry":
            values["invoice_date"] = env.now()[:10]
        env.sudo().write(model, [move_id], values)
    return True
