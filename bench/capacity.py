"""Capacity on business transactions: a flash-sale burst, embedded hub vs 1 vs 3 scale-out workers.

    .venv/bin/python bench/capacity.py [--stores 20] [--configs embedded,1,3] [--odoo-latency real]
    .venv/bin/python bench/capacity.py --quick          # about two minutes

For each hub configuration, in one run and each on a fresh Odoo emulator (its own process):

* ``embedded``: one hub process on SQLite with the embedded event log;
* ``N`` (``1``, ``3`` …): N hub worker processes sharing one listening socket, on a
  throw-away PostgreSQL database and NATS JetStream streams unique to the run;

every hub is started the same way (:class:`~storelink.sandbox.cluster.HubCluster`), so the
configurations differ only in their database, event log and worker count.

The stores are simulated in this process, each doing what an agent's uploader does: an
OAuth2 client-credentials token, then ``POST /v1/sync/stores/<code>/transactions`` with
whatever its queue holds (up to 200 sales, one request in flight), honouring ``Retry-After``
on 503/429 and resending the same batch after a transport error (uploads are idempotent
by uuid). A sale is *posted* when its till hands it to the store's queue, as a real till
does; it is *in Odoo* when a ``pos.order`` with its reference first shows up (Odoo is polled
about once a second). Latency = in Odoo - posted.

The burst: stores post sales at ``--start-rate`` sales/s (spread over the stores, some busier
than others), the rate rising ``--growth`` times every ``--step-s`` seconds. After its
``--step-s`` the rate is held (those sales are load, not judged) until the step is decided,
so the sales judged never meet a quieter hub than the one they were posted to. A step is
*sustained* when

1. at least 99 % of its sales were in Odoo within ``--within-s`` (60 s) of being posted, and
2. the hub kept pace with it: Odoo took the step's sales in at least ``--pace-min`` (0.8) times
   as fast as they were posted. Measured from the latency: a hub taking sales in at D while
   they are posted at r makes every sale wait ``r/D - 1`` s longer per second of posting, so
   ``pace = D/r = 1 / (1 + slope)``, the slope of latency against posting time fitted over
   every sale of the step but those of its first third, where the latency settles at the new
   rate's level (flat latency: pace 1; a step that overloads the hub shows its intake,
   ``achieved * pace``, in the table). On 10 s steps a flat latency measures 1 within about
   0.1 on a quiet machine, so 0.8 flags a rate about 25 % above what the hub takes in.

Without (2) a short step overstates what can be *sustained*: a hub draining at D sales/s
meets (1) for a 10 s burst of up to about 7 D, since it has 60 s to catch up; a rate above
D held for long always ends up missing (1). The run stops at the first step that is not
sustained (or at ``--max-steps`` / ``--max-rate``: the figure is then a lower bound,
``capped``), and reports the highest *achieved* posting rate of a sustained step.

Ratios are against the embedded hub (and 3 workers against 1) measured in the same run.
Prints a table per configuration and, as its very last line, one JSON object with every figure.

Every configuration meets the same ramp, hence an Odoo holding as many orders at each step.
That matters with the emulator: it finds a POS order by reference by scanning every order it
holds, so a batch of 200 costs more the more it holds (``orders before`` in the table), where a
real Odoo looks it up in an index. ``--odoo-latency real`` answers no faster than a measured
real Odoo 17 with ``--odoo-workers`` workers (one by default, about 80 sales/s).
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import sys
import tempfile
import time
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import asdict, dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table
from sqlalchemy import func, select

from capacity_load import (  # the sibling module (bench/ is the script's directory)
    ArrivalPoller,
    Ledger,
    Step,
    StepFigures,
    StoreUploader,
    Tills,
    judge,
)
from storelink.api import Role
from storelink.api.state import HubState
from storelink.config import Settings, load_settings
from storelink.config.sections import AgentSettings, ObservabilitySettings, OdooSettings
from storelink.db import create_engine, upgrade
from storelink.db.tables import prices, products, stock_positions
from storelink.edge.hub import HttpHubClient
from storelink.errors import SandboxError
from storelink.hub import bind
from storelink.odoo import OdooConnector, open_connector
from storelink.odoo.latency import emulator_label, emulator_model
from storelink.sandbox.cluster import HubCluster
from storelink.sandbox.estate import Estate, generate_estate
from storelink.sandbox.faults import FaultSchedule
from storelink.sandbox.odoo_side import EMULATED, ConnectedOdoo, emulator_process
from storelink.sandbox.options import SandboxOptions
from storelink.sandbox.scaleout import scale_out_services

#: how long the hub may take to capture the seeded catalog, and the warm-up sales to land
SETTLE_S = 180.0
#: how often a held step looks whether it is decided
DECIDE_EVERY_S = 0.25


# --- one hub configuration --------------------------------------------------------------


@dataclass(frozen=True)
class Config:
    #: ``embedded``, or the number of scale-out workers
    name: str

    @property
    def scale_out(self) -> bool:
        return self.name != "embedded"

    @property
    def workers(self) -> int:
        return int(self.name) if self.scale_out else 1

    @property
    def label(self) -> str:
        return f"workers_{self.name}" if self.scale_out else "embedded"

    def describe(self) -> str:
        if not self.scale_out:
            return "embedded (1 process, SQLite, embedded bus)"
        plural = "s" if self.workers > 1 else ""
        return f"{self.workers} worker{plural} (PostgreSQL + NATS)"


@dataclass
class ConfigFigures:
    config: str
    sales_per_s: float
    #: the ramp ended at --max-steps/--max-rate while still sustained: a lower bound
    capped: bool
    #: what Odoo took in during the first step that was not sustained, i.e. overloaded
    #: (None when capped); below ``sales_per_s`` when throughput falls under overload
    intake_at_limit_per_s: float | None
    steps: list[StepFigures]
    #: HTTP answers the stores got (``transport``: no answer, the batch was resent)
    http: dict[str, int]
    #: sales the hub already held when a resent batch brought them again
    duplicates: int
    #: reads of Odoo by the bench that failed (its arrival times are late by a poll each)
    poll_errors: int
    #: the machine's 1-minute load average when the configuration started and ended (the
    #: figures of a machine shared with other work move with it)
    load: tuple[float, float] = (0.0, 0.0)


@dataclass
class Hub:
    """A started hub and what the bench needs from it."""

    url: str
    #: the bench's own line to Odoo (the poller reads through it)
    odoo: OdooConnector
    estate: Estate
    #: ``(client id, secret)`` per store code
    credentials: dict[str, tuple[str, str]]


@asynccontextmanager
async def hub_under_test(config: Config, args: argparse.Namespace) -> AsyncIterator[Hub]:
    """A fresh emulator seeded with the estate, and the configured hub on it; all torn down
    after (temporary directory, scratch database, the run's NATS streams, processes)."""
    async with AsyncExitStack() as stack:
        data_dir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="capacity-")))
        url = await stack.enter_async_context(
            emulator_process(EMULATED, latency=args.odoo_latency, workers=args.odoo_workers)
        )
        odoo_settings = OdooSettings(url=url, database="storelink", user="admin", password="admin")
        # the bench's own line to Odoo reads thousands of new orders per poll in one page
        connector = await stack.enter_async_context(
            open_connector(odoo_settings.model_copy(update={"batch_size": 5000}))
        )
        name = emulator_label(
            EMULATED, emulator_model(EMULATED, args.odoo_latency, args.odoo_workers)
        )
        side = ConnectedOdoo(odoo_settings, connector, name)
        estate = generate_estate(stores=args.stores, seed=args.seed, currency=await side.currency())
        await side.seed(estate)
        settings = Settings(
            data_dir=data_dir,
            odoo=odoo_settings,
            observability=ObservabilitySettings(log_level="error"),
        )
        if config.scale_out:
            services = await stack.enter_async_context(
                scale_out_services(SandboxOptions(), FaultSchedule(()), data_dir)
            )
            settings = settings.model_copy(
                update={
                    "database_url": services.database_url,
                    "bus_url": services.bus_url,
                    "bus": services.bus,
                }
            )
        credentials = await register_stores(settings, estate)
        listener = bind("127.0.0.1", 0)
        stack.callback(listener.close)
        cluster = HubCluster(
            settings,
            workers=config.workers,
            listen_socket=listener,
            data_dir=data_dir,
            seed=args.seed,
        )
        stack.push_async_callback(cluster.aclose)
        try:
            await cluster.start()
            await wait_for_catalog(cluster, estate)
            yield Hub(cluster.url, connector, estate, credentials)
        except BaseException:
            show_worker_logs(data_dir)
            raise


async def register_stores(settings: Settings, estate: Estate) -> dict[str, tuple[str, str]]:
    """Migrate the hub database and give every store an API client (limits far above the
    burst: the bench measures capacity, not a store's rate limit)."""
    engine = create_engine(settings.effective_database_url)
    try:
        await upgrade(engine)
        tokens = HubState(settings=settings, engine=engine).tokens
        credentials = {}
        for store in estate.stores:
            client = await tokens.add_client(
                Role.STORE, store=store.code, rate_per_s=100_000, burst=100_000
            )
            credentials[store.code] = (client.client_id, client.secret)
        return credentials
    finally:
        await engine.dispose()


async def wait_for_catalog(cluster: HubCluster, estate: Estate) -> None:
    """Wait until change capture brought the seeded catalog into the hub: a capture of
    thousands of prices and stock positions must not land in the middle of a step."""
    wanted = {products: len(estate.products), prices: len(estate.prices)}
    wanted[stock_positions] = len(estate.stock)
    deadline = time.monotonic() + SETTLE_S
    while True:
        async with cluster.engine.connect() as connection:
            counts = {
                table: int(await connection.scalar(select(func.count()).select_from(table)) or 0)
                for table in wanted
            }
        if all(counts[table] >= n for table, n in wanted.items()):
            return
        if time.monotonic() > deadline:
            found = {table.name: counts[table] for table in wanted}
            raise SandboxError("the hub did not capture the seeded catalog", found=found)
        await asyncio.sleep(0.5)


def show_worker_logs(data_dir: Path, lines: int = 15) -> None:
    for log in sorted(data_dir.glob("hub-worker-*.log")):
        tail = log.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:]
        print(f"--- {log.name} (last {len(tail)} lines)", *tail, sep="\n", file=sys.stderr)


async def measure(config: Config, args: argparse.Namespace, console: Console) -> ConfigFigures:
    before = os.getloadavg()[0]
    async with hub_under_test(config, args) as hub:
        figures = await burst(config, hub, args, console)
    figures.load = (round(before, 2), round(os.getloadavg()[0], 2))
    return figures


async def burst(
    config: Config, hub: Hub, args: argparse.Namespace, console: Console
) -> ConfigFigures:
    """The stores and the poller running beside the ramp; they stop with it."""
    statuses: Counter[str] = Counter()
    agent = AgentSettings()
    clients = {
        code: HttpHubClient(
            hub.url, client_id=cid, client_secret=secret, timeout_s=agent.hub_timeout_s
        )
        for code, (cid, secret) in hub.credentials.items()
    }
    stores = {code: StoreUploader(code, c, statuses, agent) for code, c in clients.items()}
    ledger = Ledger()
    poller = ArrivalPoller(hub.odoo, ledger, args.poll_s)
    ramp = Ramp(config, Tills(hub.estate, stores, args.seed), ledger, poller, args, console)
    try:
        # a store or the poller that fails cancels the ramp and the error surfaces here
        async with asyncio.TaskGroup() as group:
            background = [group.create_task(store.run()) for store in stores.values()]
            background.append(group.create_task(poller.run()))
            try:
                await ramp.warm_up()
                capped = await ramp.run()
            finally:
                for task in background:
                    task.cancel()
    finally:
        await asyncio.gather(*(c.aclose() for c in clients.values()))
    limit = next((f for f in ramp.figures if not f.sustained), None)
    return ConfigFigures(
        config=config.label,
        sales_per_s=sustained_rate(ramp.figures),
        capped=capped,
        intake_at_limit_per_s=limit.intake_per_s if limit is not None else None,
        steps=ramp.figures,
        http=dict(sorted(statuses.items())),
        duplicates=sum(store.duplicates for store in stores.values()),
        poll_errors=poller.errors,
    )


@dataclass
class Ramp:
    """The burst's steps on one hub, in order; :attr:`figures` holds each verdict."""

    config: Config
    tills: Tills
    ledger: Ledger
    poller: ArrivalPoller
    args: argparse.Namespace
    console: Console
    figures: list[StepFigures] = field(default_factory=list)

    async def warm_up(self) -> None:
        """One sale per store, waited for in Odoo: tokens fetched, every store's POS session
        opened, the whole path proven before anything is timed."""
        for code in self.tills.stores:
            self.tills.post_one(code)
        deadline = time.monotonic() + SETTLE_S
        while not self.tills.posted <= self.poller.seen:
            if time.monotonic() > deadline:
                missing = len(self.tills.posted - self.poller.seen)
                raise SandboxError(
                    "the warm-up sales did not reach Odoo",
                    config=self.config.label,
                    missing=missing,
                )
            await asyncio.sleep(0.2)

    async def run(self) -> bool:
        """Every step in turn until one is not sustained. Returns whether the ramp was cut
        short by ``--max-steps`` / ``--max-rate`` instead (the figure is then a lower bound)."""
        args = self.args
        rate = args.start_rate
        self.tills.start_clock()
        for index in range(args.max_steps):
            if not await self.step(Step(index, rate)):
                return False
            rate *= args.growth
            if rate > args.max_rate:
                break
        return True

    async def step(self, step: Step) -> bool:
        """Post at the step's rate for ``--step-s``, hold the rate until decided, judge;
        whether it was sustained."""
        args = self.args
        # the emulator slows down as it fills up (see the table's column): worth seeing
        step.odoo_orders = len(self.poller.seen)
        step.started = time.monotonic()
        await self.tills.run_until(
            step.started + args.step_s, step.rate, partial(self.ledger.post, step)
        )
        step.ended = time.monotonic()
        # held at the same rate until decided: the judged sales never meet a quieter hub
        while not step.decided(time.monotonic(), args.within_s):
            await self.tills.run_until(time.monotonic() + DECIDE_EVERY_S, step.rate, None)
        result = judge(step, args.within_s, args.pace_min)
        self.figures.append(result)
        verdict = "sustained" if result.sustained else result.why
        self.console.print(
            f"  {self.config.label} step {step.index}: {result.achieved_per_s:g} sales/s, "
            f"p99 {result.p99_s} s, pace {result.pace}: {verdict}"
        )
        return result.sustained


def sustained_rate(figures: list[StepFigures]) -> float:
    """The highest achieved rate of the sustained steps before the first that was not."""
    sustained = itertools.takewhile(lambda f: f.sustained, figures)
    return max((f.achieved_per_s for f in sustained), default=0.0)


# --- the run ----------------------------------------------------------------------------


def step_table(figures: ConfigFigures, config: Config) -> Table:
    table = Table(title=f"{config.describe()}: {figures.sales_per_s:g} sales/s sustained")
    columns = ["step", "orders before", "target/s", "achieved/s", "sales", "in Odoo"]
    columns += ["within SLO", "p50 s", "p99 s", "pace", "intake/s", "verdict"]
    for column in columns:
        table.add_column(column, justify="right")
    for f in figures.steps:
        table.add_row(
            str(f.step),
            str(f.odoo_orders),
            f"{f.target_per_s:g}",
            f"{f.achieved_per_s:g}",
            str(f.sales),
            str(f.in_odoo),
            f"{f.in_time_share:.1%}",
            "-" if f.p50_s is None else f"{f.p50_s:g}",
            "-" if f.p99_s is None else f"{f.p99_s:g}",
            "-" if f.pace is None else f"{f.pace:g}",
            "-" if f.intake_per_s is None else f"{f.intake_per_s:g}",
            "sustained" if f.sustained else f.why,
        )
    return table


def ratio(top: float | None, bottom: float | None) -> float | None:
    return round(top / bottom, 2) if top is not None and bottom else None


async def run(args: argparse.Namespace) -> None:
    console = Console(width=150, stderr=False)
    configs = [Config(name.strip()) for name in args.configs.split(",") if name.strip()]
    odoo = emulator_label(EMULATED, emulator_model(EMULATED, args.odoo_latency, args.odoo_workers))
    console.print(
        f"flash sale on {args.stores} stores into {odoo}: {args.step_s:g} s steps from "
        f"{args.start_rate:g} sales/s, x{args.growth:g} per step"
    )
    measured: dict[str, ConfigFigures] = {}
    for config in configs:
        started = time.monotonic()
        console.print(f"{config.describe()} ...")
        measured[config.label] = await measure(config, args, console)
        load = measured[config.label].load
        console.print(f"  ({time.monotonic() - started:.0f} s, load {load[0]} -> {load[1]})")
    for config in configs:
        console.print(step_table(measured[config.label], config))
    summary = Table(
        title=f"highest sustained sales/s (99 % in Odoo within {args.within_s:g} s, keeping pace)"
    )
    columns = ("hub", "sales/s", "capped", "intake at limit/s", "HTTP answers", "resent")
    for column in columns:
        summary.add_column(column, justify="right")
    for config in configs:
        f = measured[config.label]
        answers = ", ".join(f"{k} {v}" for k, v in f.http.items())
        at_limit = "-" if f.intake_at_limit_per_s is None else f"{f.intake_at_limit_per_s:g}"
        summary.add_row(
            config.describe(),
            f"{f.sales_per_s:g}",
            str(f.capped),
            at_limit,
            answers,
            str(f.duplicates),
        )
    console.print(summary)

    def rate(label: str) -> float | None:
        return measured[label].sales_per_s if label in measured else None

    def intake(label: str) -> float | None:
        return measured[label].intake_at_limit_per_s if label in measured else None

    document: dict[str, Any] = {
        "odoo": odoo,
        "stores": args.stores,
        "step_s": args.step_s,
        "start_rate": args.start_rate,
        "growth": args.growth,
        "within_s": args.within_s,
        "pace_min": args.pace_min,
        "embedded_sales_per_s": rate("embedded"),
        "workers_1_sales_per_s": rate("workers_1"),
        "workers_3_sales_per_s": rate("workers_3"),
        "scale_3_vs_1": ratio(rate("workers_3"), rate("workers_1")),
        "workers_1_vs_embedded": ratio(rate("workers_1"), rate("embedded")),
        "workers_3_vs_embedded": ratio(rate("workers_3"), rate("embedded")),
        "intake_3_vs_1": ratio(intake("workers_3"), intake("workers_1")),
        "intake_1_vs_embedded": ratio(intake("workers_1"), intake("embedded")),
        "configs": {label: asdict(f) for label, f in measured.items()},
    }
    print(json.dumps(document))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stores", type=int, default=20)
    parser.add_argument("--configs", default="embedded,1,3", help="embedded and/or worker counts")
    parser.add_argument("--step-s", type=float, default=10.0, help="seconds each rate is judged")
    parser.add_argument("--start-rate", type=float, default=10.0, help="sales/s of the first step")
    parser.add_argument("--growth", type=float, default=1.5, help="rate factor from step to step")
    parser.add_argument("--max-steps", type=int, default=16)
    parser.add_argument("--max-rate", type=float, default=5000.0)
    parser.add_argument("--within-s", type=float, default=60.0, help="the latency bar of 99 %%")
    parser.add_argument("--pace-min", type=float, default=0.8, help="arrival/posting rate bar")
    parser.add_argument("--poll-s", type=float, default=1.0, help="how often Odoo is read")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--odoo-latency",
        choices=["fast", "real"],
        default=load_settings().odoo.emulator_latency,
        help="the emulator as fast as it can, or as slow as the measured real Odoo 17",
    )
    parser.add_argument(
        "--odoo-workers",
        type=int,
        default=load_settings().odoo.emulator_workers,
        help="with --odoo-latency real: calls the emulator answers at once",
    )
    parser.add_argument(
        "--quick", action="store_true", help="a smoke run of about two minutes (rough figures)"
    )
    args = parser.parse_args()
    if args.quick:
        # the quick run's defaults; options given on the command line still win
        parser.set_defaults(stores=5, step_s=4.0, start_rate=20.0, growth=2.0, poll_s=0.5)
        args = parser.parse_args()
    if args.step_s <= 0 or args.start_rate <= 0 or args.growth <= 1 or args.stores < 1:
        parser.error("--step-s, --start-rate and --stores must be positive, --growth above 1")
    for name in args.configs.split(","):
        if name.strip() != "embedded" and not (name.strip().isdigit() and int(name) > 0):
            parser.error(f"--configs: {name!r} is neither embedded nor a number of workers")
    asyncio.run(run(args))


if __name__ == "__main__":
    main()
