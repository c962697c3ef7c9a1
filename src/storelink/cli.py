"""The ``storelink`` command.

Core commands live here; each part adds its own groups through a
``register(app)`` function in its ``commands`` module (see
:data:`PART_COMMANDS`). Expected errors become one line on stderr and a
non-zero exit: 2 for usage and configuration, 1 for everything else.
"""

from __future__ import annotations

import asyncio
import importlib
import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from storelink.config import describe, load_settings
from storelink.errors import ConfigError, StorelinkError

#: the module that adds each part's top-level command via ``register(app)``
PART_COMMANDS: dict[str, str] = {
    "events": "storelink.bus.commands",
    "odoo": "storelink.odoo.commands",
    "webhooks": "storelink.webhooks.commands",
    "clients": "storelink.api.commands",
    "audit": "storelink.api.commands",
    "customers": "storelink.api.commands",
    "agent": "storelink.edge.commands",
    "sandbox": "storelink.sandbox.commands",
}

app = typer.Typer(
    name="storelink",
    help="Integration hub for retailers running Odoo across stores, channels and partners.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
config_app = typer.Typer(help="Inspect and check configuration.", no_args_is_help=True)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
schema_app = typer.Typer(help="JSON Schemas of entities and events.", no_args_is_help=True)
hub_app = typer.Typer(help="Run the hub.", no_args_is_help=True)
app.add_typer(config_app, name="config")
app.add_typer(db_app, name="db")
app.add_typer(schema_app, name="schema")
app.add_typer(hub_app, name="hub")

console = Console()
err_console = Console(stderr=True)

ConfigOption = Annotated[
    Path | None,
    typer.Option("--config", "-c", help="TOML configuration file (default: $STORELINK_CONFIG)."),
]


@config_app.command("check")
def config_check(
    file: Annotated[Path | None, typer.Argument(help="TOML file to check.")] = None,
) -> None:
    """Print the effective configuration with secrets masked, or what is wrong with it."""
    settings = load_settings(file)
    console.print_json(json.dumps(describe(settings)))


@db_app.command("upgrade")
def db_upgrade(config: ConfigOption = None) -> None:
    """Apply all pending database migrations."""
    from storelink.db import create_engine, upgrade

    settings = load_settings(config)

    async def run() -> set[str]:
        engine = create_engine(settings.effective_database_url)
        try:
            return await upgrade(engine)
        finally:
            await engine.dispose()

    heads = asyncio.run(run())
    console.print(f"database at {', '.join(sorted(heads))}")


@schema_app.command("export")
def schema_export(directory: Annotated[Path, typer.Argument(help="Output directory.")]) -> None:
    """Write one JSON Schema per entity and per event/command type."""
    from storelink.model.schema import export

    written = export(directory)
    console.print(f"wrote {len(written)} schemas to {directory}")


@hub_app.command("serve")
def hub_serve(config: ConfigOption = None) -> None:
    """Run the hub: the API and its workers, until Ctrl-C or SIGTERM.

    Workers: the outbox relay, webhook fan-out and delivery, and, when Odoo is
    configured, change capture, channel order sync and the store-sync drain
    (they wait for Odoo while it is unreachable). Migrates the database first.
    """
    from storelink.hub import Hub
    from storelink.ops import stop_on_signals

    settings = load_settings(config)

    async def main() -> None:
        stop = stop_on_signals()
        async with Hub(settings) as hub:
            workers = ", ".join(type(w).__name__ for w in hub.workers)
            console.print(f"hub serving on {hub.url} (workers: {workers})", highlight=False)
            await hub.run(stop)
        console.print("hub stopped")

    asyncio.run(main())


def _register_parts(argv: list[str]) -> None:
    """Import only the part the command line names (a store agent starts in a fraction of the
    time), or every part when it names none of them (``--help``, a typo)."""
    words = [word for word in argv if not word.startswith("-")]
    wanted = PART_COMMANDS.get(words[0]) if words else None
    if words and wanted is None and words[0] in _CORE_COMMANDS:
        return
    modules = [wanted] if wanted else list(dict.fromkeys(PART_COMMANDS.values()))
    for name in modules:
        module: Any = importlib.import_module(name)
        module.register(app)


_CORE_COMMANDS = frozenset({"config", "db", "schema", "hub"})


def fail(error: StorelinkError) -> int:
    """Print ``error`` on stderr, one line per problem, and return its exit code."""
    lines = error.problems if isinstance(error, ConfigError) else [error.message]
    for line in lines:
        # one problem, one line: fold any multi-line driver message
        one_line = " ".join(line.split())
        err_console.print(f"error: {one_line}", markup=False, highlight=False, soft_wrap=True)
    return error.exit_code


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``storelink`` console script."""
    try:
        args = sys.argv[1:] if argv is None else argv
        _register_parts(args)
        app(args=args, prog_name="storelink")
    except SystemExit as exit_:
        return int(exit_.code or 0) if not isinstance(exit_.code, str) else 1
    except StorelinkError as error:
        return fail(error)
    except KeyboardInterrupt:
        err_console.print("interrupted")
        return 130
    return 0


def run() -> None:
    """Console-script wrapper: exit with :func:`main`'s code."""
    sys.exit(main())


if __name__ == "__main__":  # pragma: no cover
    run()
