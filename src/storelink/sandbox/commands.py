"""``storelink sandbox``: the whole estate in one command."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import Annotated

import typer
from pydantic import ValidationError as PydanticValidationError
from rich.console import Console

from storelink.config import load_settings
from storelink.config.sections import OdooSettings
from storelink.errors import UsageError
from storelink.sandbox.options import Defect, SandboxOptions

#: test-only: names a :class:`Defect` to inject, proving the verification can fail
DEFECT_VARIABLE = "STORELINK_SANDBOX_DEFECT"


def _defect() -> Defect | None:
    name = os.environ.get(DEFECT_VARIABLE)
    if not name:
        return None
    try:
        return Defect(name)
    except ValueError as exc:
        raise UsageError(f"{DEFECT_VARIABLE}: no defect {name!r}") from exc


def register(app: typer.Typer) -> None:
    app.command("sandbox")(sandbox)


def sandbox(
    stores: Annotated[int, typer.Option(min=1, max=500, help="Number of stores.")] = 10,
    sales: Annotated[int, typer.Option(min=1, help="Till transactions to post.")] = 2000,
    seed: Annotated[int, typer.Option(help="Seed for a reproducible estate and trading.")] = 1,
    rate: Annotated[
        float, typer.Option(min=0, help="Transactions per second across all tills (0: max).")
    ] = 100.0,
    faults: Annotated[
        str,
        typer.Option(
            help="Fault schedule: default, chaos (--scale-out: 30+ SIGKILLs on top), none, or a "
            "TOML/JSON file."
        ),
    ] = "default",
    products: Annotated[int, typer.Option(min=1, max=100_000, help="Catalog size.")] = 120,
    odoo_url: Annotated[
        str | None, typer.Option(help="A real Odoo (default: the built-in emulator).")
    ] = None,
    odoo_db: Annotated[str | None, typer.Option(help="Odoo database.")] = None,
    odoo_user: Annotated[str | None, typer.Option(help="Odoo login.")] = None,
    odoo_password: Annotated[str | None, typer.Option(help="Odoo password.")] = None,
    odoo_api_key: Annotated[str | None, typer.Option(help="Odoo API key.")] = None,
    odoo_latency: Annotated[
        str | None,
        typer.Option(
            help="The built-in emulator's speed: fast, or real (as slow as the measured real "
            "Odoo). Default: odoo.emulator_latency of $STORELINK_CONFIG / the environment."
        ),
    ] = None,
    odoo_workers: Annotated[
        int | None,
        typer.Option(min=1, help="With --odoo-latency real: calls the emulator answers at once."),
    ] = None,
    report: Annotated[Path | None, typer.Option(help="Write the JSON report here.")] = None,
    data_dir: Annotated[
        Path | None, typer.Option(help="Keep the databases here (default: a temporary dir).")
    ] = None,
    live: Annotated[bool, typer.Option(help="Show the live view.")] = True,
    cleanup: Annotated[
        bool,
        typer.Option(
            help="Afterwards remove what the run created in Odoo (delete, or archive what "
            "Odoo keeps)."
        ),
    ] = False,
    converge_timeout: Annotated[
        float, typer.Option(min=1, help="Seconds the estate may take to converge.")
    ] = 120.0,
    channel_share: Annotated[
        float,
        typer.Option(min=0, max=1, help="Web orders through the API, as a share of --sales."),
    ] = 0.05,
    scale_out: Annotated[
        bool,
        typer.Option(
            "--scale-out",
            help="Run the hub as worker processes on PostgreSQL + NATS, each agent as a process.",
        ),
    ] = False,
    hub_workers: Annotated[
        int, typer.Option(min=1, max=32, help="With --scale-out: hub worker processes.")
    ] = 3,
    database_url: Annotated[
        str | None,
        typer.Option(
            help="With --scale-out: the PostgreSQL to use (default: a throw-away database on "
            "127.0.0.1:5432, dropped afterwards)."
        ),
    ] = None,
    bus_url: Annotated[
        str | None,
        typer.Option(
            help="With --scale-out: the NATS to use (default: nats://127.0.0.1:4222 with "
            "stream names unique to the run, or a server of the run's own for bus_restart)."
        ),
    ] = None,
) -> None:
    """Run a simulated estate through outages against Odoo and verify the result.

    Exits 0 only when every check passes (and, with --cleanup, the cleanup succeeded).
    """
    from storelink.sandbox.runner import run_sandbox

    if not scale_out and (database_url or bus_url):
        raise UsageError("--database-url and --bus-url are for --scale-out runs")

    configured = load_settings().odoo
    try:
        odoo = OdooSettings(
            url=odoo_url,
            database=odoo_db,
            user=odoo_user,
            password=odoo_password,
            api_key=odoo_api_key,
            emulator_latency=odoo_latency or configured.emulator_latency,
            emulator_workers=odoo_workers or configured.emulator_workers,
        )
    except PydanticValidationError as exc:
        problems = [f"--odoo-*: {e['msg']}" for e in exc.errors()]
        raise UsageError("invalid Odoo options", problems=problems) from exc
    options = SandboxOptions(
        stores=stores,
        sales=sales,
        seed=seed,
        rate=rate,
        faults=faults,
        products=products,
        odoo=odoo,
        report=report,
        data_dir=data_dir,
        live=live,
        cleanup=cleanup,
        converge_timeout_s=converge_timeout,
        defect=_defect(),
        channel_share=channel_share,
        scale_out=scale_out,
        hub_workers=hub_workers,
        database_url=database_url,
        bus_url=bus_url,
    )
    result = asyncio.run(run_sandbox(options, console=Console()))
    raise typer.Exit(0 if result.ok else 1)
