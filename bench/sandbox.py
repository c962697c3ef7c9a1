"""Sandbox throughput: a whole estate through the default faults, against the same estate without.

    .venv/bin/python bench/sandbox.py [--stores 50] [--sales 20000] [--rate 0] [--odoo-latency real]

Both runs use the same seed, estate and transactions; the baseline runs with
``--faults none``, so the ratio is what the outages cost. Prints a table and,
as its last line, one JSON object with every figure.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import time
from dataclasses import dataclass

from rich.console import Console
from rich.table import Table

from storelink.config import load_settings
from storelink.config.sections import OdooSettings
from storelink.sandbox.options import SandboxOptions
from storelink.sandbox.runner import run_sandbox


@dataclass(frozen=True)
class Figures:
    passed: bool
    elapsed_s: float
    transactions: int
    trading_s: float
    transactions_per_s: float
    peak_queue_depth: int
    odoo_round_trips: int | None
    #: which Odoo the run traded with (``emulator 17 (fast)`` …)
    odoo: str | None


async def measure(options: SandboxOptions) -> Figures:
    started = time.monotonic()
    result = await run_sandbox(options, console=Console(file=io.StringIO()))
    elapsed = time.monotonic() - started
    transactions = int(result.document["sales_recorded"])
    return Figures(
        passed=result.passed,
        elapsed_s=round(elapsed, 2),
        transactions=transactions,
        trading_s=round(result.stats.trading_s, 2),
        transactions_per_s=round(transactions / elapsed, 1),
        peak_queue_depth=result.stats.peak_queue_depth,
        odoo_round_trips=result.document["odoo_round_trips"],
        odoo=result.document["odoo"],
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stores", type=int, default=10)
    parser.add_argument("--sales", type=int, default=2000)
    parser.add_argument("--rate", type=float, default=0.0, help="0 posts as fast as stores answer")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--odoo-latency",
        choices=["fast", "real"],
        default=load_settings().odoo.emulator_latency,
        help="the emulator as fast as it can, or as slow as the measured real Odoo",
    )
    args = parser.parse_args()
    common = {
        "odoo": OdooSettings(emulator_latency=args.odoo_latency),
        "stores": args.stores,
        "sales": args.sales,
        "rate": args.rate,
        "seed": args.seed,
        "live": False,
        "converge_timeout_s": 600.0,
    }
    baseline = asyncio.run(measure(SandboxOptions(faults="none", **common)))  # type: ignore[arg-type]
    faults = asyncio.run(measure(SandboxOptions(faults="default", **common)))  # type: ignore[arg-type]
    table = Table(title=f"sandbox: {args.stores} stores, {args.sales} transactions")
    table.add_column("run")
    for name in Figures.__dataclass_fields__:
        table.add_column(name, justify="right")
    for name, figures in (("no faults (baseline)", baseline), ("default faults", faults)):
        table.add_row(name, *(str(getattr(figures, f)) for f in Figures.__dataclass_fields__))
    Console(width=170).print(table)
    ratio = (
        faults.transactions_per_s / baseline.transactions_per_s
        if baseline.transactions_per_s
        else 0
    )
    print(
        json.dumps(
            {
                "odoo": baseline.odoo,
                "stores": args.stores,
                "sales": args.sales,
                "baseline": baseline.__dict__,
                "faults": faults.__dict__,
                "transactions_per_s_ratio_vs_baseline": round(ratio, 3),
            }
        )
    )


if __name__ == "__main__":
    main()
