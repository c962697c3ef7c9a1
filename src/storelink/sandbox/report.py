"""The sandbox's verdict: a summary table on the console and ``--report FILE.json``.

The JSON report carries the issue's counts at the top level (``null`` when the
check that produces a count could not run), ``passed``, and ``failures``: one
entry per check that failed or could not run, with its details. Example::

    {"sales_recorded": 2000, "sales_in_odoo": 2000, "duplicates": 0, "missing": 0,
     "stock_mismatches": 0, "price_mismatches": 0, "webhooks_delivered": 5400,
     "webhooks_dead_lettered": 12, "order_violations": 0, "channel_orders_placed": 100,
     "channel_orders_in_odoo": 100, "channel_orders_duplicates": 0, "channel_orders_missing": 0,
     "http_5xx": 0, "http_503": 41, "http_429": 0, "elapsed_s": 71.3,
     "odoo_round_trips": 412, "kills": 0, "passed": true, "failures": [], "cleanup": null}

``http_*`` count the answers the tills, the web channel and the agents got
(``http_5xx``: 5xx other than 503). ``kills`` counts the SIGKILLs of a
``--scale-out`` run (hub workers, agents, the bus server); 0 in one process.

``cleanup`` is null unless ``--cleanup`` was given; then it holds, per Odoo model,
how many records the run created were ``deleted``, ``archived`` or ``left`` (with
Odoo's reasons), and ``ok``/``problems`` (see :mod:`storelink.sandbox.cleanup`).
``passed`` is the verification's verdict alone: a cleanup failure never hides it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from storelink.sandbox.verify import Verification

#: the counts every report carries, in this order
COUNT_KEYS = (
    "sales_recorded",
    "sales_in_odoo",
    "duplicates",
    "missing",
    "stock_mismatches",
    "price_mismatches",
    "webhooks_delivered",
    "webhooks_dead_lettered",
    "order_violations",
    "channel_orders_placed",
    "channel_orders_in_odoo",
    "channel_orders_duplicates",
    "channel_orders_missing",
    "http_5xx",
    "http_503",
    "http_429",
)
#: the checks that produce each count (a count is null when its check did not run)
_PRODUCED_BY = {
    "sales_in_odoo": "sales_exactly_once",
    "duplicates": "sales_exactly_once",
    "missing": "sales_exactly_once",
    "stock_mismatches": "stock_matches",
    "price_mismatches": "prices_current",
    "webhooks_delivered": "webhooks_delivered",
    "webhooks_dead_lettered": "webhooks_delivered",
    "order_violations": "webhook_order",
    "channel_orders_placed": "channel_orders_exactly_once",
    "channel_orders_in_odoo": "channel_orders_exactly_once",
    "channel_orders_duplicates": "channel_orders_exactly_once",
    "channel_orders_missing": "channel_orders_exactly_once",
    "http_5xx": "no_server_errors",
    "http_503": "no_server_errors",
    "http_429": "no_server_errors",
}


def report_document(
    verification: Verification,
    *,
    elapsed_s: float,
    odoo_round_trips: int | None,
    cleanup: dict[str, Any] | None = None,
    odoo: str | None = None,
    kills: int | None = None,
) -> dict[str, Any]:
    """The JSON-ready report of one run; ``odoo`` names the Odoo it ran against."""
    ran = {c.name for c in verification.checks if c.status != "not_run"}
    document: dict[str, Any] = {"odoo": odoo}
    for key in COUNT_KEYS:
        producer = _PRODUCED_BY.get(key)
        document[key] = (
            verification.counts.get(key, 0) if producer is None or producer in ran else None
        )
    document["elapsed_s"] = round(elapsed_s, 3)
    document["odoo_round_trips"] = odoo_round_trips
    document["kills"] = kills
    document["passed"] = verification.passed
    document["failures"] = [
        {"check": c.name, "status": c.status, "summary": c.summary, "details": list(c.details)}
        for c in verification.checks
        if not c.passed
    ]
    document["cleanup"] = cleanup
    return document


def write_report(path: Path, document: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")


def print_summary(console: Console, verification: Verification, document: dict[str, Any]) -> None:
    """One row per check, then the counts, then each failure's first details."""
    console.print()
    checks = Table(title="sandbox verification", title_justify="left")
    checks.add_column("check")
    checks.add_column("result")
    checks.add_column("summary")
    style = {"passed": "green", "failed": "bold red", "not_run": "yellow"}
    for check in verification.checks:
        checks.add_row(check.name, f"[{style[check.status]}]{check.status}[/]", check.summary)
    console.print(checks)
    counts = Table(show_header=False, box=None, padding=(0, 2))
    for key in ("odoo", *COUNT_KEYS, "elapsed_s", "odoo_round_trips", "kills"):
        value = document.get(key)
        counts.add_row(key, "n/a" if value is None else str(value))
    console.print(counts)
    for check in verification.checks:
        for line in check.details[:5]:
            console.print(f"  [dim]{check.name}:[/] {line}", highlight=False)
    verdict = "[bold green]ALL CHECKS PASSED[/]" if verification.passed else "[bold red]FAILED[/]"
    console.print(verdict)
