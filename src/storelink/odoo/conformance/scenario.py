"""The fixed conformance scenario: the steps, in order, each writing one transcript file.

Every call the connector makes is in here at least once — connect, estate,
catalog, prices, customers, stock counts and adjustments, store sales and
returns, channel orders, canonical reads, change capture's polls, ``odoo
check``, webhook automations — followed by calls that must fail (refused
business rules, bad fields, missing records, a keyword ``create``, a wrong
password) and a small XML-RPC session. A failing action is recorded as its
outcome and the step goes on; a step that breaks is recorded the same way and
the next step runs.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from functools import partial

from storelink.odoo.client import connect
from storelink.odoo.conformance.context import Run
from storelink.odoo.conformance.data import TAX_CLASSES
from storelink.odoo.conformance.steps import admin, errors, reads, setup, trading, xmlrpc
from storelink.odoo.connector import OdooConnector


@dataclass(frozen=True)
class Step:
    """One transcript file: ``name`` (``NN-what``) and the coroutine that plays it."""

    name: str
    play: Callable[[Run], Awaitable[None]]


async def connect_step(run: Run) -> None:
    """Version and login over JSON-RPC; fails the whole recording when refused."""
    client = await connect(run.options)
    run.connector = OdooConnector(client, tax_classes=TAX_CLASSES)
    run.tape.add({"kind": "outcome", "ok": True})
    run.tape.check("connected", {"series": client.dialect.series, "protocol": client.protocol})


CONNECT = Step("01-connect", connect_step)
STEPS: tuple[Step, ...] = (
    CONNECT,
    Step("02-estate", setup.estate),
    Step("03-products", setup.products),
    Step("04-prices", setup.prices),
    Step("05-customers", setup.customers),
    Step("06-stock-counts", trading.stock_counts),
    Step("07-adjustments", trading.adjustments),
    Step("08-store-sales", trading.store_sales),
    Step("09-channel-orders", trading.channel_orders),
    Step("10-reads", reads.reads),
    Step("11-capture", reads.capture),
    Step("12-check", admin.readiness),
    Step("13-webhooks", admin.webhooks),
    Step("14-refusals", errors.refusals),
    Step("15-wrong-calls", errors.wrong_calls),
    Step("16-xmlrpc", xmlrpc.xmlrpc),
)


async def play(
    run: Run,
    only: Sequence[str] | None = None,
    progress: Callable[[str], None] | None = None,
) -> None:
    """Connect (a refusal propagates), then play every step or those named in ``only``."""
    for step in STEPS:
        if step is CONNECT or only is None or step.name in only:
            if progress is not None:
                progress(step.name)
            run.tape.start(step.name)
            if step is CONNECT:
                await step.play(run)
            else:
                await run.tape.run("step", partial(step.play, run))
