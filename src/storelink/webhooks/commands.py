"""``storelink webhooks …``: endpoints, inbound sources, attempt log, dead letters, replay,
and the delivery worker."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, TypeVar

import typer
from rich.console import Console
from rich.table import Table
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine

from storelink.config import Settings, load_settings
from storelink.errors import StorageError, UsageError
from storelink.webhooks import recovery
from storelink.webhooks.endpoints import Endpoint, EndpointSpec, EndpointStore
from storelink.webhooks.intake import Intake
from storelink.webhooks.retention import Pruner
from storelink.webhooks.secrets import SecretBox
from storelink.webhooks.ssrf import URLPolicy

T = TypeVar("T")

console = Console(highlight=False)

webhooks_app = typer.Typer(help="Outbound webhooks and inbound intake.", no_args_is_help=True)
endpoints_app = typer.Typer(help="Webhook endpoints (subscriptions).", no_args_is_help=True)
sources_app = typer.Typer(help="Inbound sources and their secrets.", no_args_is_help=True)
dlq_app = typer.Typer(help="Dead-lettered deliveries.", no_args_is_help=True)
webhooks_app.add_typer(endpoints_app, name="endpoints")
webhooks_app.add_typer(sources_app, name="sources")
webhooks_app.add_typer(dlq_app, name="dlq")

ConfigOption = Annotated[
    Path | None,
    typer.Option("--config", "-c", help="TOML configuration file (default: $STORELINK_CONFIG)."),
]
SinceOption = Annotated[
    str | None,
    typer.Option("--since", help="ISO 8601 time (UTC unless it says otherwise)."),
]


def register(app: typer.Typer) -> None:
    app.add_typer(webhooks_app, name="webhooks")


def _since(value: str | None, *, required: bool = False) -> datetime:
    if value is None:
        if required:
            raise UsageError("--since is required")
        return datetime(1970, 1, 1, tzinfo=UTC)
    try:
        when = datetime.fromisoformat(value)
    except ValueError as exc:
        raise UsageError(f"--since: {value!r} is not an ISO 8601 time") from exc
    return when if when.tzinfo is not None else when.replace(tzinfo=UTC)


def _run(config: Path | None, work: Callable[[AsyncEngine, Settings], Awaitable[T]]) -> T:
    """Run ``work`` against the configured database, mapping driver errors to one line."""
    from storelink.db import create_engine

    settings = load_settings(config)

    async def main() -> T:
        engine = create_engine(settings.effective_database_url)
        try:
            return await work(engine, settings)
        except SQLAlchemyError as exc:
            raise StorageError(
                f"database: {type(exc).__name__} (is it migrated? run `storelink db upgrade`)"
            ) from exc
        finally:
            await engine.dispose()

    return asyncio.run(main())


def _store(engine: AsyncEngine, settings: Settings) -> EndpointStore:
    return EndpointStore(
        engine,
        policy=URLPolicy.from_settings(settings.webhooks),
        rotation_overlap_s=settings.webhooks.rotation_overlap_s,
        default_concurrency=settings.webhooks.max_concurrency,
        secret_box=SecretBox.from_settings(settings),
    )


def _intake(engine: AsyncEngine, settings: Settings) -> Intake:
    return Intake(
        engine,
        secret_box=SecretBox.from_settings(settings),
        rotation_overlap_s=settings.webhooks.rotation_overlap_s,
    )


def _endpoint_table(endpoints: list[Endpoint]) -> Table:
    table = Table("id", "owner", "url", "events", "rate", "conc", "ordered", "state")
    for e in endpoints:
        state = "enabled" if e.enabled else f"disabled: {e.disabled_reason}"
        table.add_row(
            e.id,
            e.owner or "-",
            e.url,
            ",".join(e.event_types),
            "-" if e.rate_limit is None else f"{e.rate_limit:g}/s",
            str(e.max_concurrency),
            "yes" if e.ordered else "no",
            state,
        )
    return table


@endpoints_app.command("list")
def endpoints_list(
    owner: Annotated[str | None, typer.Option(help="Only this owner's endpoints.")] = None,
    config: ConfigOption = None,
) -> None:
    """List endpoints with their filters, limits and state."""
    found = _run(config, lambda engine, s: _store(engine, s).all(owner=owner))
    console.print(_endpoint_table(found))


@endpoints_app.command("add")
def endpoints_add(
    url: Annotated[str, typer.Argument(help="https URL of the receiver.")],
    event: Annotated[
        list[str] | None, typer.Option("--event", "-e", help="Event type pattern (repeatable).")
    ] = None,
    source: Annotated[
        list[str] | None, typer.Option("--source", help="Event source pattern (repeatable).")
    ] = None,
    rate: Annotated[float | None, typer.Option(help="Max deliveries per second.")] = None,
    concurrency: Annotated[int | None, typer.Option(help="Max attempts in flight.")] = None,
    ordered: Annotated[bool, typer.Option(help="Deliver each partition key in order.")] = False,
    owner: Annotated[str | None, typer.Option(help="Owning channel/partner.")] = None,
    description: Annotated[str, typer.Option(help="Free text.")] = "",
    config: ConfigOption = None,
) -> None:
    """Add an endpoint; prints its id and signing secret (shown only once)."""
    spec = EndpointSpec(
        url=url,
        event_types=tuple(event or ["*"]),
        sources=tuple(source or []),
        description=description,
        rate_limit=rate,
        max_concurrency=concurrency,
        ordered=ordered,
        owner=owner,
    )
    endpoint, secret = _run(config, lambda engine, s: _store(engine, s).add(spec))
    console.print(f"endpoint {endpoint.id}")
    console.print(f"secret {secret}")


@endpoints_app.command("disable")
def endpoints_disable(
    endpoint_id: Annotated[str, typer.Argument(metavar="ENDPOINT")],
    reason: Annotated[str, typer.Option(help="Why (shown to operators).")] = "disabled by operator",
    config: ConfigOption = None,
) -> None:
    """Stop delivering to an endpoint (its queued deliveries wait)."""
    _run(config, lambda engine, s: _store(engine, s).disable(endpoint_id, reason))
    console.print(f"disabled {endpoint_id}")


@endpoints_app.command("enable")
def endpoints_enable(
    endpoint_id: Annotated[str, typer.Argument(metavar="ENDPOINT")],
    config: ConfigOption = None,
) -> None:
    """Resume delivering to an endpoint."""
    _run(config, lambda engine, s: _store(engine, s).enable(endpoint_id))
    console.print(f"enabled {endpoint_id}")


@endpoints_app.command("rotate-secret")
def endpoints_rotate(
    endpoint_id: Annotated[str, typer.Argument(metavar="ENDPOINT")],
    overlap: Annotated[
        float | None, typer.Option(help="Seconds the old secret keeps signing.")
    ] = None,
    config: ConfigOption = None,
) -> None:
    """Add a new signing secret; the old one signs too until the overlap ends."""
    secret = _run(
        config, lambda engine, s: _store(engine, s).rotate_secret(endpoint_id, overlap_s=overlap)
    )
    console.print(f"secret {secret}")


@webhooks_app.command("attempts")
def attempts_command(
    endpoint_id: Annotated[str, typer.Argument(metavar="ENDPOINT")],
    limit: Annotated[int, typer.Option(help="How many, newest first.")] = 50,
    config: ConfigOption = None,
) -> None:
    """The attempt log of an endpoint: time, status, latency, response excerpt, error."""

    async def work(engine: AsyncEngine, settings: Settings) -> list[recovery.AttemptRecord]:
        await _store(engine, settings).get(endpoint_id)
        return await recovery.attempts(engine, endpoint_id, limit=limit)

    table = Table("time", "delivery", "#", "outcome", "status", "ms", "response / error")
    for a in _run(config, work):
        table.add_row(
            a.attempted_at.isoformat(timespec="seconds"),
            str(a.delivery_id),
            str(a.attempt),
            a.outcome,
            "-" if a.status_code is None else str(a.status_code),
            f"{a.latency_ms:.1f}",
            (a.error or "") + (f" {a.response_excerpt[:60]!r}" if a.response_excerpt else ""),
        )
    console.print(table)


@webhooks_app.command("replay")
def replay_command(
    delivery: Annotated[int | None, typer.Option(help="Replay this one delivery.")] = None,
    endpoint: Annotated[str | None, typer.Option(help="Replay for this endpoint.")] = None,
    since: SinceOption = None,
    everything: Annotated[
        bool, typer.Option("--all", help="Delivered ones too, not only dead letters.")
    ] = False,
    config: ConfigOption = None,
) -> None:
    """Requeue deliveries (same webhook-id): one, all failed since a time, or everything
    for an endpoint since a time."""
    if delivery is not None:
        count = _run(config, lambda engine, _s: recovery.replay_delivery(engine, delivery))
    elif everything:
        if endpoint is None:
            raise UsageError("--all needs --endpoint")
        when = _since(since, required=True)
        count = _run(
            config, lambda engine, _s: recovery.replay_endpoint(engine, endpoint, since=when)
        )
    else:
        when = _since(since, required=True)
        count = _run(
            config,
            lambda engine, _s: recovery.replay_failed(engine, since=when, endpoint_id=endpoint),
        )
    console.print(f"requeued {count}")


@webhooks_app.command("prune")
def prune_command(
    before: Annotated[str, typer.Option("--before", help="ISO 8601 time; older history goes.")],
    config: ConfigOption = None,
) -> None:
    """Forget delivered deliveries and their attempt logs older than a time (dead letters
    and queued deliveries stay). The hub does this by itself after webhooks.retention_days."""
    when = _since(before, required=True)
    pruned = _run(config, lambda engine, _s: Pruner(engine).prune_history(before=when))
    console.print(f"pruned {pruned.deliveries} delivered deliveries ({pruned.attempts} attempts)")


@dlq_app.command("list")
def dlq_list(
    endpoint: Annotated[str | None, typer.Option(help="Only this endpoint.")] = None,
    limit: Annotated[int, typer.Option(help="How many, newest first.")] = 50,
    config: ConfigOption = None,
) -> None:
    """Dead-lettered deliveries with their last error."""
    found = _run(
        config, lambda engine, _s: recovery.dead_letters(engine, endpoint_id=endpoint, limit=limit)
    )
    table = Table("delivery", "endpoint", "event", "type", "attempts", "last error")
    for d in found:
        table.add_row(
            str(d.id), d.endpoint_id, d.event_id, d.event_type, str(d.attempts), d.last_error or ""
        )
    console.print(table)


@dlq_app.command("retry")
def dlq_retry(
    delivery: Annotated[int | None, typer.Option(help="Retry this one dead letter.")] = None,
    endpoint: Annotated[str | None, typer.Option(help="Only this endpoint.")] = None,
    since: SinceOption = None,
    config: ConfigOption = None,
) -> None:
    """Requeue dead letters (all, or one endpoint's, or those since a time)."""
    if delivery is not None:
        count = _run(config, lambda engine, _s: recovery.replay_delivery(engine, delivery))
    else:
        when = _since(since)
        count = _run(
            config,
            lambda engine, _s: recovery.replay_failed(engine, since=when, endpoint_id=endpoint),
        )
    console.print(f"requeued {count}")


@sources_app.command("add")
def sources_add(
    name: Annotated[str, typer.Argument(help="Source name, used in /v1/inbound/NAME.")],
    config: ConfigOption = None,
) -> None:
    """Register an inbound source; prints its secret (shown only once)."""
    secret = _run(config, lambda engine, s: _intake(engine, s).add_source(name))
    console.print(f"source {name}")
    console.print(f"secret {secret}")


@sources_app.command("list")
def sources_list(config: ConfigOption = None) -> None:
    """List inbound sources."""
    for source in _run(config, lambda engine, s: _intake(engine, s).sources()):
        console.print(f"{source.name}\t{source.created_at.isoformat(timespec='seconds')}")


@sources_app.command("remove")
def sources_remove(
    name: Annotated[str, typer.Argument()],
    config: ConfigOption = None,
) -> None:
    """Forget an inbound source (its payloads are refused from now on)."""
    _run(config, lambda engine, s: _intake(engine, s).remove_source(name))
    console.print(f"removed {name}")


@sources_app.command("rotate-secret")
def sources_rotate(
    name: Annotated[str, typer.Argument(metavar="SOURCE")],
    overlap: Annotated[
        float | None,
        typer.Option(
            help="Seconds the old secret is still accepted (default: webhooks.rotation_overlap_s)."
        ),
    ] = None,
    config: ConfigOption = None,
) -> None:
    """Give a source a new secret (shown only once); payloads signed with the old one are
    accepted too until the overlap ends."""
    secret = _run(
        config, lambda engine, s: _intake(engine, s).rotate_secret(name, overlap_s=overlap)
    )
    console.print(f"source {name}")
    console.print(f"secret {secret}")


@webhooks_app.command("worker")
def worker_command(config: ConfigOption = None) -> None:
    """Run the delivery worker: the bus consumer that fans events out, the dispatcher, and
    the retention pruner, each restarted if it fails; ``/healthz`` and ``/metrics`` on
    ``webhooks.worker_port``.

    Stops cleanly on Ctrl-C / SIGTERM, finishing the attempts in flight.
    """
    from storelink.bus import open_event_log
    from storelink.ops.health import Health
    from storelink.ops.probes import database_check, probe_app
    from storelink.ops.serving import serve_app
    from storelink.ops.signals import stop_on_signals
    from storelink.ops.workers import run_all
    from storelink.webhooks.dispatcher import Dispatcher
    from storelink.webhooks.feed import WebhookFeed

    async def work(engine: AsyncEngine, settings: Settings) -> None:
        stop = stop_on_signals()
        log = await open_event_log(settings, engine)
        dispatcher = Dispatcher(
            engine, settings=settings.webhooks, secret_box=SecretBox.from_settings(settings)
        )
        feed = WebhookFeed(log, engine, dispatcher, ack_wait_s=settings.bus.ack_wait_s)
        pruner = Pruner.from_settings(engine, settings.webhooks)
        health = Health()
        health.register("database", database_check(engine))
        probes = probe_app(health, title="storelink webhooks worker")
        try:
            async with serve_app(
                probes, host=settings.api.host, port=settings.webhooks.worker_port
            ) as url:
                console.print(f"webhooks worker running; probes on {url} (Ctrl-C stops)")
                await run_all([feed, dispatcher, pruner], stop)
        finally:
            await dispatcher.aclose()
            await log.close()

    _run(config, work)
