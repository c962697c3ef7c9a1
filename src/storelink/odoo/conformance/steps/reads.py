"""Steps that read back through the connector: canonical reads and change capture's polls."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from storelink.odoo.client import ODOO_DATETIME, from_odoo_datetime
from storelink.odoo.conformance.context import Run
from storelink.odoo.conformance.data import SKU_PREFIX, STORE_CODES
from storelink.odoo.conformance.steps import readback
from storelink.odoo.feeds import Feed, default_feeds

#: what marks a record, event or key as written by the scenario
OURS = (SKU_PREFIX, "CNA", "CNB", "cust-", "web:", "Conformance")
PAGE = 200


def ours(value: Any) -> bool:
    text = json.dumps(value, default=str)
    return any(mark in text for mark in OURS)


async def reads(run: Run) -> None:
    tape, odoo = run.tape, run.odoo

    async def positions() -> list[list[str]]:
        found = await odoo.read_stock_positions(STORE_CODES)
        return [[p.sku, p.location, str(p.on_hand), str(p.reserved)] for p in found if ours(p.sku)]

    async def products() -> list[Any]:
        return [p.model_dump(mode="json") for p in await odoo.read_products() if ours(p.sku)]

    async def prices() -> list[Any]:
        out = []
        for price in await odoo.read_prices():
            if not ours(price.sku):
                continue
            dumped = price.model_dump(mode="json")
            if price.scope.code == "list" and price.scope.kind.value == "pricelist":
                # a list price's version and start are its product's write_date
                dumped.pop("version")
                dumped.pop("valid_from")
            out.append(dumped)
        return sorted(out, key=lambda p: json.dumps(p, sort_keys=True))

    async def customers() -> list[Any]:
        found = await odoo.read_customers()
        return [c.model_dump(mode="json", exclude={"updated_at"}) for c in found if ours(c.id)]

    await tape.probe("read_stock_positions", positions)
    await tape.probe("read_products", products)
    await tape.probe("read_prices", prices)
    await tape.probe("read_customers", customers)


async def capture(run: Run) -> None:
    """Each feed's two polls (the rest of the cursor's second, then what follows) and collect.

    The cursor is the second before the scenario's first warehouse was created:
    the first poll (that second, by id) finds nothing on any server, the second
    one (from the warehouse's second on) finds what the scenario wrote — and
    what it changed of the records the database held before.
    """
    tape = run.tape

    async def cursor() -> datetime:
        found = await readback.rows(
            run, "stock.warehouse", [["code", "in", STORE_CODES]], ["create_date"]
        )
        first = min(s for s in (from_odoo_datetime(r["create_date"]) for r in found) if s)
        return first - timedelta(seconds=1)

    start = await tape.run("capture cursor", cursor)
    if start is None:
        return
    for feed in default_feeds():
        await tape.probe(f"feed {feed.name}", partial(_poll, run, feed, start))


async def _poll(run: Run, feed: Feed, start: datetime) -> dict[str, Any]:
    client, second = run.client, timedelta(seconds=1)
    fields = sorted({*feed.fields, "id", "write_date"})
    within = await client.search_read(
        feed.model,
        [
            *feed.domain,
            ["write_date", ">=", start.strftime(ODOO_DATETIME)],
            ["write_date", "<", (start + second).strftime(ODOO_DATETIME)],
            ["id", ">", 0],
        ],
        fields,
        order="id asc",
        limit=PAGE,
        context=feed.context,
    )
    after = await client.search_read(
        feed.model,
        [*feed.domain, ["write_date", ">=", (start + second).strftime(ODOO_DATETIME)]],
        fields,
        order="write_date asc, id asc",
        limit=PAGE,
        context=feed.context,
    )
    rows = [*within, *after]
    captured = await feed.collect(run.odoo, rows) if rows else None
    events = captured.events if captured else []
    keys = sorted(
        f"{e.type} {e.partitionkey}" for e in events if ours(e.data) or ours(e.partitionkey)
    )
    return {"rows_of_ours": sum(1 for r in rows if ours(r)), "events_of_ours": keys}
