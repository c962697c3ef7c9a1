"""``storelink agent run`` and ``storelink agent status``."""

from __future__ import annotations

import asyncio
import gc
import json
from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from storelink.config import load_settings

console = Console()

ConfigOption = Annotated[
    Path | None,
    typer.Option("--config", "-c", help="TOML configuration file (default: $STORELINK_CONFIG)."),
]
StoreOption = Annotated[str | None, typer.Option("--store", help="Store code (agent.store).")]
DatabaseOption = Annotated[
    Path | None,
    typer.Option("--database", help="Agent SQLite file (default <data_dir>/agent-<store>.db)."),
]


def _loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    # uvloop (installed with uvicorn[standard]) roughly halves the POS API's per-request cost
    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvicorn[standard] brings it
        return None
    factory: Callable[[], asyncio.AbstractEventLoop] = uvloop.new_event_loop
    return factory


def register(app: typer.Typer) -> None:
    agent_app = typer.Typer(help="Run and inspect the store agent.", no_args_is_help=True)
    app.add_typer(agent_app, name="agent")

    @agent_app.command("run")
    def run(
        store: StoreOption = None,
        hub: Annotated[str | None, typer.Option("--hub", help="Hub base URL.")] = None,
        port: Annotated[int | None, typer.Option("--port", help="POS API port.")] = None,
        database: DatabaseOption = None,
        config: ConfigOption = None,
    ) -> None:
        """Serve the local POS API and keep the store in sync with the hub."""
        from storelink.edge.agent import Agent, AgentConfig
        from storelink.ops import configure_logging, stop_on_signals

        settings = load_settings(config)
        configure_logging(settings.observability)
        agent_config = AgentConfig.from_settings(
            settings, store=store, hub_url=hub, port=port, database=database
        )

        async def main() -> None:
            stop = stop_on_signals()
            agent = Agent(agent_config)
            # everything built so far lives as long as the process: keep the collector off it,
            # which shortens the pauses a till would otherwise see as latency spikes
            gc.freeze()
            try:
                await agent.run(stop)
            finally:
                await agent.aclose()

        console.print(
            f"agent {agent_config.store}: POS API on http://{agent_config.host}:{agent_config.port}"
            f", hub {agent_config.hub_url}, database {agent_config.database}",
            highlight=False,
        )
        with asyncio.Runner(loop_factory=_loop_factory()) as runner:
            runner.run(main())

    @agent_app.command("status")
    def status(
        store: StoreOption = None,
        database: DatabaseOption = None,
        as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
        config: ConfigOption = None,
    ) -> None:
        """Online/offline, queue depth, oldest unsent transaction, last sync per data set,
        and every status the hub answered this agent."""
        from storelink.edge.database import connect
        from storelink.edge.status import read_status
        from storelink.errors import NotFoundError, UsageError
        from storelink.model import utcnow

        settings = load_settings(config)
        code = store or settings.agent.store
        if not code:
            raise UsageError("agent status: no store code; pass --store or set agent.store")
        path = database or settings.agent.database or settings.data_dir / f"agent-{code}.db"
        if not path.exists():
            raise NotFoundError(f"no agent database at {path}")
        connection = connect(path)
        try:
            report = read_status(connection, code, utcnow()).as_dict()
        finally:
            connection.close()
        if as_json:
            console.print_json(json.dumps(report))
            return
        console.print(f"store {code}: {'online' if report['online'] else 'OFFLINE'}")
        console.print(f"  queue depth           {report['queue_depth']}")
        age = report["oldest_unsent_age_s"]
        console.print(f"  oldest unsent         {'-' if age is None else f'{age:.1f} s ago'}")
        console.print(f"  flagged for review    {report['flagged_for_review']}")
        console.print(f"  last upload           {report['last_upload_at'] or 'never'}")
        for dataset, at in report["last_sync"].items():
            console.print(f"  last sync {dataset:<11} {at or 'never'}")
        answers = ", ".join(f"{status}: {n}" for status, n in report["hub_responses"].items())
        console.print(f"  hub answered          {answers or 'nothing yet'}", markup=False)
        if report["last_error"]:
            console.print(f"  last error            {report['last_error']}", markup=False)
