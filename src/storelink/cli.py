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
import os
import socket
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from storelink.config import Settings, describe, load_settings
from storelink.errors import ConfigError, StorelinkError, UsageError

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
def hub_serve(
    config: ConfigOption = None,
    workers: Annotated[
        int,
        typer.Option(
            "--workers",
            min=1,
            max=64,
            help="Hub worker processes sharing api.port (more than 1 needs PostgreSQL and NATS).",
        ),
    ] = 1,
    reuse_port: Annotated[
        bool,
        typer.Option(
            "--reuse-port", help="Bind with SO_REUSEPORT: separate hub serve processes share it."
        ),
    ] = False,
    listen_fd: Annotated[int | None, typer.Option("--listen-fd", hidden=True)] = None,
    supervisor_pid: Annotated[int | None, typer.Option("--supervisor-pid", hidden=True)] = None,
) -> None:
    """Run the hub: the API and its workers, until Ctrl-C or SIGTERM.

    Workers: the outbox relay, webhook fan-out and delivery, and, when Odoo is
    configured, change capture, channel order sync and the store-sync drain
    (they wait for Odoo while it is unreachable). Migrates the database first.

    With --workers N this process migrates, binds api.port and keeps N hub processes
    serving on that one socket (PostgreSQL and NATS only): a worker that dies is
    restarted, SIGTERM stops them all. See docs/scale-out.md.
    """
    # the hidden --listen-fd / --supervisor-pid are how the supervisor starts each worker
    settings = load_settings(config)
    if workers > 1:
        if listen_fd is not None:
            raise UsageError("hub serve: --workers and --listen-fd exclude each other")
        _require_shared_backends(settings, workers)
        asyncio.run(_supervise(settings, config, workers, reuse_port=reuse_port))
        return
    asyncio.run(_serve_one(settings, listen_fd, reuse_port=reuse_port, supervisor=supervisor_pid))


def _require_shared_backends(settings: Settings, workers: int) -> None:
    """Several hub processes share one PostgreSQL and one NATS JetStream, or none at all."""
    problems = []
    if not settings.effective_database_url.startswith("postgresql"):
        problems.append(f"database_url is SQLite ({settings.effective_database_url})")
    if settings.bus_url == "embedded":
        problems.append("bus_url is the embedded event log")
    if problems:
        raise UsageError(
            f"hub serve --workers {workers}: worker processes must share one PostgreSQL and one"
            f" NATS JetStream, but {' and '.join(problems)}; set database_url to"
            " postgresql+psycopg://... and bus_url to nats://..."
        )


def _listen(settings: Settings, *, reuse_port: bool) -> socket.socket:
    from storelink.ops.serving import bind

    host, port = settings.api.host, settings.api.port
    try:
        return bind(host, port, reuse_port=reuse_port)
    except OSError as exc:
        raise ConfigError(f"api.port: cannot listen on {host}:{port}: {exc.strerror}") from exc


async def _serve_one(
    settings: Settings, listen_fd: int | None, *, reuse_port: bool, supervisor: int | None
) -> None:
    """One hub process: on the inherited socket ``listen_fd``, on its own ``SO_REUSEPORT``
    socket, or on ``api.host:port`` as the hub binds it."""
    from storelink.hub import Hub
    from storelink.ops import stop_on_signals
    from storelink.ops.supervisor import stop_when_orphaned

    stop = stop_on_signals()
    watch = asyncio.create_task(stop_when_orphaned(supervisor, stop)) if supervisor else None
    sock: socket.socket | None = None
    if listen_fd is not None:
        sock = socket.socket(fileno=listen_fd)
    elif reuse_port:
        sock = _listen(settings, reuse_port=True)
    try:
        async with Hub(settings, listen_socket=sock) as hub:
            workers = ", ".join(getattr(w, "label", type(w).__name__) for w in hub.workers)
            console.print(f"hub serving on {hub.url} (workers: {workers})", highlight=False)
            await hub.run(stop)
    finally:
        if watch is not None:
            watch.cancel()
        if sock is not None:
            sock.close()
    console.print("hub stopped")


async def _supervise(
    settings: Settings, config: Path | None, workers: int, *, reuse_port: bool
) -> None:
    """Migrate, create the streams, bind, then keep ``workers`` hub processes running."""
    from storelink.ops import configure_logging, stop_on_signals
    from storelink.ops.supervisor import Supervisor

    configure_logging(settings.observability)
    stop = stop_on_signals()
    # once here rather than racing in every worker: the schema and the streams they share
    await _prepare_shared(settings)
    sock = _listen(settings, reuse_port=reuse_port)
    supervisor_pid = str(os.getpid())

    def command(fd: int) -> list[str]:
        line = [sys.executable, "-m", "storelink.cli", "hub", "serve", "--listen-fd", str(fd)]
        line += ["--supervisor-pid", supervisor_pid]
        return line + (["--config", str(config)] if config is not None else [])

    def say(line: str) -> None:
        console.print(line, highlight=False, markup=False, soft_wrap=True)

    host, port = sock.getsockname()[:2]
    say(f"hub supervisor {supervisor_pid} on http://{host}:{port}: {workers} worker processes")
    try:
        await Supervisor(command, workers, sock, say=say).run(stop)
    finally:
        sock.close()
    say("hub stopped")


async def _prepare_shared(settings: Settings) -> None:
    from storelink.bus import open_event_log
    from storelink.db import create_engine, upgrade

    engine = create_engine(settings.effective_database_url)
    try:
        await upgrade(engine)
        event_log = await open_event_log(settings, engine)
        await event_log.close()
    finally:
        await engine.dispose()


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
