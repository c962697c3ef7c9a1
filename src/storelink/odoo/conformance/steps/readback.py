"""Read-backs: what Odoo holds after an action, read directly and reduced to stable values.

Each function returns plain JSON keyed by the scenario's own keys (SKU@store,
``pos_reference``, ``client_order_ref``, picking ``origin``), never by record
id, so two servers agree when they did the same thing.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from storelink.odoo.conformance.context import Run
from storelink.odoo.conformance.data import SKUS, STORE_CODES
from storelink.odoo.lookups import ALL_RECORDS, many2one_id


async def rows(
    run: Run, model: str, domain: list[Any], fields: list[str], *, order: str = "id"
) -> list[dict[str, Any]]:
    return await run.client.search_read(model, domain, fields, order=order, context=ALL_RECORDS)


async def product_skus(run: Run) -> dict[int, str]:
    found = await rows(run, "product.product", [["default_code", "in", SKUS]], ["default_code"])
    return {int(r["id"]): str(r["default_code"]) for r in found}


async def store_locations(run: Run) -> dict[int, str]:
    found = await rows(
        run, "stock.warehouse", [["code", "in", STORE_CODES]], ["code", "lot_stock_id"]
    )
    return {many2one_id(r["lot_stock_id"]): str(r["code"]) for r in found}


async def on_hand(run: Run) -> dict[str, dict[str, float]]:
    """``{"SKU@store": {"quantity": …, "reserved": …}}`` summed over the store's quants."""
    skus, locations = await product_skus(run), await store_locations(run)
    quants = await rows(
        run,
        "stock.quant",
        [["location_id", "in", sorted(locations)], ["product_id", "in", sorted(skus)]],
        ["product_id", "location_id", "quantity", "reserved_quantity"],
    )
    totals: dict[str, dict[str, float]] = {}
    for quant in quants:
        sku = skus[many2one_id(quant["product_id"])]
        key = f"{sku}@{locations[many2one_id(quant['location_id'])]}"
        total = totals.setdefault(key, {"quantity": 0.0, "reserved": 0.0})
        total["quantity"] += float(quant["quantity"] or 0)
        total["reserved"] += float(quant["reserved_quantity"] or 0)
    return dict(sorted(totals.items()))


async def pos_configs(run: Run) -> dict[str, Any]:
    """Each store's POS config: its payment methods and whether its cash method is its own."""
    configs = await rows(
        run, "pos.config", [["name", "in", STORE_CODES]], ["name", "payment_method_ids"]
    )
    method_ids = sorted({int(m) for c in configs for m in c["payment_method_ids"]})
    methods = await rows(
        run, "pos.payment.method", [["id", "in", method_ids]], ["name", "is_cash_count"]
    )
    by_id = {int(m["id"]): m for m in methods}
    cash_users: Counter[int] = Counter(
        int(m) for c in configs for m in c["payment_method_ids"] if by_id[int(m)]["is_cash_count"]
    )
    out: dict[str, Any] = {}
    for config in sorted(configs, key=lambda c: str(c["name"])):
        ids = [int(m) for m in config["payment_method_ids"]]
        cash = [m for m in ids if by_id[m]["is_cash_count"]]
        out[str(config["name"])] = {
            "count": Counter(str(c["name"]) for c in configs)[str(config["name"])],
            "methods": len(ids),
            "cash_methods": len(cash),
            "own_cash_method": bool(cash) and all(cash_users[m] == 1 for m in cash),
        }
    return out


async def pos_orders(run: Run) -> dict[str, Any]:
    """POS orders of the scenario by ``pos_reference``: how many, state, amounts, lines."""
    found = await rows(
        run,
        "pos.order",
        [["pos_reference", "like", "storelink/CN"]],
        ["pos_reference", "state", "amount_total", "amount_paid", "lines", "payment_ids"],
    )
    out: dict[str, Any] = {}
    for row in sorted(found, key=lambda r: (str(r["pos_reference"]), int(r["id"]))):
        entry = out.setdefault(str(row["pos_reference"]), {"count": 0})
        entry["count"] += 1
        entry.update(
            state=row["state"],
            amount_total=row["amount_total"],
            amount_paid=row["amount_paid"],
            lines=len(row["lines"]),
            payments=len(row["payment_ids"]),
        )
    return out


async def sessions(run: Run) -> dict[str, list[str]]:
    """The states of the POS sessions of each store's config."""
    configs = await rows(run, "pos.config", [["name", "in", STORE_CODES]], ["name"])
    names = {int(c["id"]): str(c["name"]) for c in configs}
    found = await rows(
        run, "pos.session", [["config_id", "in", sorted(names)]], ["config_id", "state"]
    )
    out: dict[str, list[str]] = {}
    for session in found:
        out.setdefault(names[many2one_id(session["config_id"])], []).append(str(session["state"]))
    return {name: sorted(states) for name, states in sorted(out.items())}


async def sale_orders(run: Run, refs: list[str]) -> dict[str, Any]:
    """Sale orders by ``client_order_ref``: how many, state, amounts, deliveries."""
    found = await rows(
        run,
        "sale.order",
        [["client_order_ref", "in", refs]],
        ["client_order_ref", "state", "amount_untaxed", "amount_total", "picking_ids"],
    )
    out: dict[str, Any] = {}
    for row in found:
        entry = out.setdefault(str(row["client_order_ref"]), {"count": 0})
        entry["count"] += 1
        entry.update(
            state=row["state"],
            amount_untaxed=row["amount_untaxed"],
            amount_total=row["amount_total"],
            deliveries=len(row["picking_ids"]),
        )
    return dict(sorted(out.items()))


async def pickings(run: Run, domain: list[Any]) -> dict[str, Any]:
    """Pickings matching ``domain`` by ``origin``: states and done quantities."""
    found = await rows(run, "stock.picking", domain, ["origin", "state", "move_ids"])
    move_ids = sorted({int(m) for p in found for m in p["move_ids"]})
    done = run.client.dialect.move_done_field
    moves = await rows(run, "stock.move", [["id", "in", move_ids]], ["product_uom_qty", done])
    by_id = {int(m["id"]): m for m in moves}
    out: dict[str, Any] = {}
    for picking in found:
        entry = out.setdefault(str(picking["origin"]), {"states": [], "moves": []})
        entry["states"].append(picking["state"])
        entry["moves"].extend(
            [by_id[int(m)]["product_uom_qty"], by_id[int(m)][done]] for m in picking["move_ids"]
        )
    return dict(sorted(out.items()))


async def deliveries(run: Run, refs: list[str]) -> dict[str, Any]:
    """The pickings of each sale order by ``client_order_ref``: states and move quantities."""
    orders = await rows(run, "sale.order", [["client_order_ref", "in", refs]], ["client_order_ref"])
    out: dict[str, Any] = {}
    for order in sorted(orders, key=lambda o: str(o["client_order_ref"])):
        found = await pickings(run, [["sale_id", "=", int(order["id"])]])
        out[str(order["client_order_ref"])] = sorted(found.values(), key=str)
    return out
