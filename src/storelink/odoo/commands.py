"""``storelink odoo …``: check readiness, install webhook automations, run the emulator."""

from __future__ import annotations

import asyncio
import importlib
import json
import socket
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from storelink.config import load_settings
from storelink.config.sections import OdooSettings
from storelink.errors import ConfigError, UsageError

console = Console(highlight=False)
err_console = Console(stderr=True, highlight=False)

odoo_app = typer.Typer(help="Talk to Odoo: readiness, webhooks, emulator.", no_args_is_help=True)

ConfigOption = Annotated[
    Path | None,
    typer.Option("--config", "-c", help="TOML configuration file (default: $STORELINK_CONFIG)."),
]
UrlOption = Annotated[str | None, typer.Option("--url", help="Odoo URL (overrides odoo.url).")]
DbOption = Annotated[str | None, typer.Option("--db", help="Odoo database.")]
UserOption = Annotated[str | None, typer.Option("--user", help="Odoo login.")]
PasswordOption = Annotated[str | None, typer.Option("--password", help="Odoo password.")]
KeyOption = Annotated[str | None, typer.Option("--api-key", help="Odoo API key.")]


def register(app: typer.Typer) -> None:
    app.add_typer(odoo_app, name="odoo")


def _settings(
    config: Path | None,
    url: str | None,
    db: str | None,
    user: str | None,
    password: str | None,
    api_key: str | None,
) -> OdooSettings:
    base = load_settings(config).odoo
    given = {"url": url, "database": db, "user": user, "password": password, "api_key": api_key}
    changes: dict[str, Any] = {k: v for k, v in given.items() if v is not None}
    if not changes:
        settings = base
    else:
        values = {**base.model_dump(), **changes}
        for secret in ("password", "api_key", "webhook_token"):
            if hasattr(values.get(secret), "get_secret_value"):
                values[secret] = values[secret].get_secret_value()
        try:
            settings = OdooSettings(**values)
        except ValueError as exc:
            raise ConfigError(f"odoo: {exc}") from exc
    if settings.url is None:
        raise UsageError("odoo.url is not set: give --url or configure odoo.url")
    return settings


@odoo_app.command("check")
def check_command(
    config: ConfigOption = None,
    url: UrlOption = None,
    db: DbOption = None,
    user: UserOption = None,
    password: PasswordOption = None,
    api_key: KeyOption = None,
) -> None:
    """Print what storelink finds in Odoo; exit 1 with one line per problem and its fix."""
    from storelink.odoo.check import check

    settings = _settings(config, url, db, user, password, api_key)
    report = asyncio.run(check(settings))
    for line in report.lines:
        console.print(line, markup=False)
    for problem in report.problems:
        err_console.print(f"problem: {problem}", markup=False, soft_wrap=True)
    if not report.ready:
        raise typer.Exit(1)
    console.print("ready", markup=False)


@odoo_app.command("install-webhooks")
def install_webhooks_command(
    hub_url: Annotated[str, typer.Option(help="Base URL at which Odoo reaches this hub.")],
    config: ConfigOption = None,
    url: UrlOption = None,
    db: DbOption = None,
    user: UserOption = None,
    password: PasswordOption = None,
    api_key: KeyOption = None,
) -> None:
    """Create Odoo automations that notify the hub of changes (Odoo 17+)."""
    from storelink.odoo.automations import install_webhooks
    from storelink.odoo.connector import open_connector

    settings = _settings(config, url, db, user, password, api_key)
    if settings.webhook_token is None:
        raise UsageError("odoo.webhook_token is not set: configure a secret token first")
    token = settings.webhook_token.get_secret_value()

    async def run() -> tuple[str, list[Any]]:
        async with open_connector(settings) as odoo:
            return odoo.version, await install_webhooks(odoo.client, hub_url, token)

    version, installed = asyncio.run(run())
    if not installed:
        console.print(f"Odoo {version} has no webhook actions; change capture keeps polling")
        return
    for item in installed:
        state = "created" if item.created else "already installed"
        console.print(f"{item.model}: automation {item.automation_id} {state}", markup=False)


@odoo_app.command("record-conformance")
def record_conformance_command(
    out: Annotated[
        Path,
        typer.Option(
            help="Root folder; the transcript goes to OUT/<series>/ (17, 18 …, from the server)."
        ),
    ],
    odoo_url: Annotated[str, typer.Option(help="Odoo URL (a database restored clean).")],
    odoo_db: Annotated[str, typer.Option(help="Odoo database.")],
    odoo_password: Annotated[str, typer.Option(help="Odoo password.")],
    odoo_user: Annotated[str, typer.Option(help="Odoo login.")] = "admin",
) -> None:
    """Run the conformance scenario against a real Odoo and write its normalised transcript.

    It writes to the database: give it one restored from a clean template.
    """
    from storelink.odoo.conformance.cli import record_to

    record_to(out, odoo_url, odoo_db, odoo_user, odoo_password, console)


@odoo_app.command("measure-latency")
def measure_latency_command(
    odoo_url: Annotated[str, typer.Option(help="Odoo URL (a scratch database: it is written).")],
    odoo_db: Annotated[str, typer.Option(help="Odoo database.")],
    odoo_password: Annotated[str, typer.Option(help="Odoo password.")],
    odoo_user: Annotated[str, typer.Option(help="Odoo login.")] = "admin",
    out: Annotated[
        Path | None,
        typer.Option(help="Where to write the model (default: the emulator's <series>.json)."),
    ] = None,
) -> None:
    """Time every call the connector makes against a real Odoo and fit its latency model.

    The emulator applies the model with ``storelink odoo emulate --latency real``.
    """
    from storelink.odoo.client import ConnectOptions
    from storelink.odoo.conformance.latency import measure
    from storelink.odoo.latency import model_path

    options = ConnectOptions(
        url=odoo_url, database=odoo_db, login=odoo_user, password=odoo_password
    )
    model = asyncio.run(measure(options, progress=lambda step: console.print(f"timing {step}")))
    target = out or model_path(model.series)
    target.write_text(json.dumps(model.document(), indent=1) + "\n", encoding="utf-8")
    slowest = sorted(model.calls.items(), key=lambda item: -item[1].seconds(50))[:5]
    for name, cost in slowest:
        console.print(
            f"{name}: {cost.fixed_s * 1000:.1f} ms + {cost.per_record_s * 1000:.2f} ms per record"
            f" ({cost.samples} calls)",
            markup=False,
        )
    console.print(
        f"wrote {target}: {len(model.calls)} calls of Odoo {model.server_version}", markup=False
    )


LATENCIES = ("fast", "real")


@odoo_app.command("emulate")
def emulate_command(
    port: Annotated[int, typer.Option(min=1, max=65535, help="Port on 127.0.0.1.")] = 8069,
    version: Annotated[str, typer.Option(help="Odoo version to emulate: 16, 17, 18, 19.")] = "17",
    fd: Annotated[
        int | None,
        typer.Option(
            min=0,
            help="Serve on this inherited listening socket instead of --port "
            "(a supervisor that bound the port, like the sandbox).",
        ),
    ] = None,
    latency: Annotated[
        str,
        typer.Option(
            help="fast (as fast as it can) or real (as slow as the measured real Odoo "
            "of that version)."
        ),
    ] = "fast",
    workers: Annotated[
        int, typer.Option(min=1, help="With --latency real: calls answered at once.")
    ] = 1,
) -> None:
    """Serve the Odoo emulator (JSON-RPC, XML-RPC, JSON-2) on 127.0.0.1."""
    if version not in ("16", "17", "18", "19"):
        raise UsageError(f"--version must be 16, 17, 18 or 19, not {version!r}")
    if latency not in LATENCIES:
        raise UsageError(f"--latency must be fast or real, not {latency!r}")
    from storelink.odoo.latency import emulator_model

    model = emulator_model(version, latency, workers)
    sock: socket.socket | None = None
    if fd is not None:
        try:
            sock = socket.socket(fileno=fd)
        except OSError as exc:
            raise UsageError(f"--fd {fd} is not an open socket: {exc}") from exc
        port = int(sock.getsockname()[1])
    # the emulator belongs to the sandbox part, above this one: looked up, not imported
    emulator: Any = importlib.import_module("storelink.emulator")
    pace = f", {model.describe()}" if model is not None else ""
    console.print(f"Odoo {version} emulator on http://127.0.0.1:{port} (database storelink{pace})")
    result = emulator.serve(port=port, version=version, sock=sock, latency=model)
    if asyncio.iscoroutine(result):
        asyncio.run(result)
