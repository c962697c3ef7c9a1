"""One sandbox run from start to verdict.

:func:`run_sandbox` generates the estate, checks the fault schedule fits it,
runs the estate (:mod:`storelink.sandbox.estate_run`) when every part it needs
is installed, verifies, prints the summary and writes the report. When a part
is missing the run says which checks could not run and why; it never passes.
With ``--cleanup`` what the run created in Odoo is removed after verification —
also when the run fails or is interrupted — and the report says what went.
"""

from __future__ import annotations

import importlib.util
import secrets
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from rich.console import Console

from storelink.errors import UsageError
from storelink.sandbox.estate import generate_estate, store_codes
from storelink.sandbox.faults import BusRestart, load_schedule
from storelink.sandbox.options import SandboxOptions
from storelink.sandbox.partners import default_partners
from storelink.sandbox.report import print_summary, report_document, write_report
from storelink.sandbox.verify import Observations, Verification, verify

if TYPE_CHECKING:
    from storelink.sandbox.cleanup import CleanupResult

#: the parts a trading run cannot do without, and what each provides
REQUIRED_PARTS: dict[str, str] = {
    "storelink.bus": "the event backbone",
    "storelink.odoo": "the Odoo connector",
    "storelink.sync": "the hub side of store sync",
    "storelink.edge": "the store agents",
}
EMULATOR = "storelink.emulator"


@dataclass(frozen=True)
class RunStats:
    """Figures of the run beyond the report's counts (for the console and benchmarks)."""

    trading_s: float = 0.0
    #: the deepest any one store's upload queue got
    peak_queue_depth: int = 0
    hub_restarts: int = 0
    #: till transactions a store did not answer 201 (not in the ledger, not checked)
    refused: int = 0
    #: seconds per phase of the run (seeding, trading, converging …)
    phases: tuple[tuple[str, float], ...] = ()
    #: feeds the hub's change capture was failing at the end: (feed, why)
    capture_failing: tuple[tuple[str, str], ...] = ()
    #: SIGKILLs of a scale-out run
    kills: int = 0

    def sales_per_s(self, transactions: int) -> float:
        return transactions / self.trading_s if self.trading_s else 0.0


@dataclass(frozen=True)
class SandboxResult:
    verification: Verification
    document: dict[str, Any]
    stats: RunStats = RunStats()
    #: what ``--cleanup`` did (None when it was not asked for)
    cleanup: CleanupResult | None = None

    @property
    def passed(self) -> bool:
        return self.verification.passed

    @property
    def ok(self) -> bool:
        """Every check passed and, when asked for, the cleanup succeeded (the exit status)."""
        return self.passed and (self.cleanup is None or self.cleanup.ok)


def _installed(module: str) -> bool:
    try:
        spec = importlib.util.find_spec(module)
    except ModuleNotFoundError:
        return False
    # a directory without __init__.py is a namespace package: a part still being written
    return spec is not None and spec.origin is not None


def missing_parts(options: SandboxOptions) -> dict[str, str]:
    """Parts the run needs that are not installed: module -> what it provides."""
    needed = dict(REQUIRED_PARTS)
    if options.odoo.url is None:
        needed[EMULATOR] = "the Odoo emulator (no --odoo-url given)"
    return {module: role for module, role in needed.items() if not _installed(module)}


def _not_runnable(missing: dict[str, str]) -> Observations:
    reason = f"no trading run: {', '.join(missing)} not installed"
    return Observations(
        recorded={},
        in_odoo=None,
        store_stock=None,
        odoo_stock=None,
        store_prices=None,
        odoo_prices=None,
        partners=None,
        unavailable={
            name: reason
            for name in (
                "in_odoo",
                "store_stock",
                "odoo_stock",
                "store_prices",
                "odoo_prices",
                "partners",
            )
        },
    )


async def run_sandbox(options: SandboxOptions, *, console: Console) -> SandboxResult:
    """Run the estate described by ``options`` and return the verdict (also printed/written)."""
    started = time.monotonic()
    codes = store_codes(options.stores)
    schedule = load_schedule(options.faults, codes, options.seed)
    schedule.check_against(
        codes,
        [p.name for p in default_partners()],
        hub_workers=options.hub_workers if options.scale_out else None,
    )
    if options.bus_url is not None and any(isinstance(f, BusRestart) for f in schedule.faults):
        raise UsageError(
            "bus_restart kills the run's own nats-server: drop --bus-url to let the run start one"
        )
    missing = missing_parts(options)
    round_trips: int | None = None
    stats = RunStats()
    cleanup: CleanupResult | None = None
    odoo_name: str | None = None
    if missing:
        for module, role in missing.items():
            console.print(f"[yellow]cannot trade:[/] {module} ({role}) is not installed")
        verification = verify(_not_runnable(missing))
    else:
        from storelink.sandbox.estate_run import EstateRun
        from storelink.sandbox.odoo_side import open_odoo_side

        async with open_odoo_side(options.odoo) as odoo:
            odoo_name = odoo.name
            estate = generate_estate(
                stores=options.stores,
                seed=options.seed,
                products=options.products,
                currency=await odoo.currency(),
                # a real Odoo keeps paid POS orders: a rerun must not reuse their ids
                run_salt=0 if options.odoo.url is None else secrets.randbits(64),
            )
            run = EstateRun(options, estate, schedule, odoo, console=console)
            try:
                verification = verify(await run.run())
            except BaseException:
                # a failed or interrupted run still removes what it created
                if options.cleanup:
                    console.print((await run.clean_up()).summary(), highlight=False)
                raise
            if options.cleanup:
                cleanup = await run.clean_up()
        round_trips = run.odoo_round_trips
        stats = RunStats(
            run.trading_s,
            run.peak_queue_depth,
            run.hub_restarts,
            run.refused,
            tuple(run.phases.items()),
            tuple(sorted(run.capture_failing.items())),
            run.kills,
        )
    document = report_document(
        verification,
        elapsed_s=time.monotonic() - started,
        odoo_round_trips=round_trips,
        cleanup=cleanup.document() if cleanup is not None else None,
        odoo=odoo_name,
        kills=stats.kills if not missing else None,
    )
    print_summary(console, verification, document)
    if cleanup is not None:
        style = "green" if cleanup.ok else "bold red"
        console.print(f"[{style}]{cleanup.summary()}[/]", highlight=False)
    if stats.trading_s:
        rate = stats.sales_per_s(int(document["sales_recorded"]))
        console.print(
            f"trading {stats.trading_s:.1f}s ({rate:,.0f} transactions/s), "
            f"peak store queue {stats.peak_queue_depth}, hub restarts {stats.hub_restarts}, "
            f"refused at the till {stats.refused}, kills {stats.kills}"
        )
        console.print("phases: " + ", ".join(f"{name} {s:.1f}s" for name, s in stats.phases))
    for feed, why in stats.capture_failing:
        console.print(f"[bold red]change capture failing[/] for {feed}: {why}", highlight=False)
    if options.report is not None:
        write_report(options.report, document)
    return SandboxResult(verification, document, stats, cleanup)
