"""Steps that move goods and money: stock counts, adjustments, store sales and returns, orders."""

from __future__ import annotations

from functools import partial
from typing import Any

from storelink.odoo.conformance.context import Run
from storelink.odoo.conformance.data import (
    ADJUSTMENTS,
    COUNTS,
    ORDERS,
    RETURNS,
    SALES,
    STORE_CODES,
)
from storelink.odoo.conformance.steps import readback
from storelink.odoo.results import SaleResult

ORDER_REFS = [o.id for o in ORDERS]


async def stock_counts(run: Run) -> None:
    tape, odoo = run.tape, run.odoo

    await tape.run("apply_stock_counts", lambda: odoo.apply_stock_counts(COUNTS), len)
    await tape.probe("on hand", lambda: readback.on_hand(run))
    await tape.run("apply_stock_counts again", lambda: odoo.apply_stock_counts(COUNTS))
    await tape.probe("on hand after the same counts", lambda: readback.on_hand(run))


async def adjustments(run: Run) -> None:
    tape, odoo = run.tape, run.odoo
    for action in ("apply_stock_adjustments", "apply_stock_adjustments again"):
        await tape.run(
            action,
            lambda: odoo.apply_stock_adjustments(ADJUSTMENTS),
            lambda results: [r.applied for r in results],
        )
    await tape.probe(
        "adjustment pickings",
        lambda: readback.pickings(run, [["origin", "like", "storelink/adjustment/CN"]]),
    )
    await tape.probe("on hand", lambda: readback.on_hand(run))


async def store_sales(run: Run) -> None:
    tape, odoo = run.tape, run.odoo

    def summary(results: list[SaleResult]) -> Any:
        return [[r.model, r.created] for r in results]

    for store in STORE_CODES:
        sales = [s for s in SALES if s.store == store]
        await tape.run(
            f"record_store_sales {store}", partial(odoo.record_store_sales, sales), summary
        )
    await tape.run("record_store_sales again", partial(odoo.record_store_sales, SALES), summary)
    for again in ("", " again"):
        await tape.run(f"record_returns{again}", lambda: odoo.record_returns(RETURNS), summary)
    await tape.probe("pos orders", lambda: readback.pos_orders(run))
    await tape.probe("pos sessions", lambda: readback.sessions(run))
    await tape.probe("on hand", lambda: readback.on_hand(run))


async def channel_orders(run: Run) -> None:
    tape, odoo = run.tape, run.odoo
    for action in ("create_channel_orders", "create_channel_orders again"):
        await tape.run(
            action,
            lambda: odoo.create_channel_orders(ORDERS),
            lambda results: [r.created for r in results],
        )
    await tape.probe("sale orders", lambda: readback.sale_orders(run, ORDER_REFS))
    await tape.probe("deliveries", lambda: readback.deliveries(run, ORDER_REFS))
    await tape.probe("on hand", lambda: readback.on_hand(run))
