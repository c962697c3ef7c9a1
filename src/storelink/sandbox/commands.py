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
        str, typer.Option(help="Fault schedule: default, none, or a TOML/JSON file.")
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
) -> None:
    """Run a simulated estate through outages against Odoo and verify the result.

    Exits 0 only when every check passes (and, with --cleanup, the cleanup succeeded).
    """
    from storelink.sandbox.runner import run_sandbox

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
    )
    result = asyncio.run(run_sandbox(options, console=Console()))
    raise typer.Exit(0 if result.ok else 1)
