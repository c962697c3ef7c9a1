"""``storelink events …``: tail the log, group stats, replay, dead letters."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, TypeVar

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from storelink.bus.backend import EventLog, LoggedEvent
from storelink.bus.eventlog import open_event_log
from storelink.config import load_settings
from storelink.errors import UsageError, ValidationError
from storelink.model import Event

T = TypeVar("T")

console = Console(highlight=False)

events_app = typer.Typer(
    help="The event log: tail, stats, replay, dead letters.", no_args_is_help=True
)
dlq_app = typer.Typer(help="Dead letters: list, show, edit, retry, drop.", no_args_is_help=True)
events_app.add_typer(dlq_app, name="dlq")

ConfigOption = Annotated[
    Path | None,
    typer.Option("--config", "-c", help="TOML configuration file (default: $STORELINK_CONFIG)."),
]


def register(app: typer.Typer) -> None:
    app.add_typer(events_app, name="events")


def _with_log(config: Path | None, work: Callable[[EventLog], Awaitable[T]]) -> T:
    settings = load_settings(config)

    async def run() -> T:
        log = await open_event_log(settings)
        try:
            return await work(log)
        finally:
            await log.close()

    return asyncio.run(run())


def _line(logged: LoggedEvent) -> str:
    event = logged.event
    stamp = logged.appended_at.isoformat(timespec="milliseconds")
    return f"{logged.position:>8}  {stamp}  {event.type}  {event.partitionkey}  {event.id}"


@events_app.command("tail")
def tail_command(
    type_: Annotated[
        list[str] | None, typer.Option("--type", help="Event type or glob (repeatable).")
    ] = None,
    key: Annotated[str | None, typer.Option("--key", help="Only this partition key.")] = None,
    from_position: Annotated[int, typer.Option("--from", min=0, help="First position.")] = 0,
    limit: Annotated[int, typer.Option(min=1, help="Most events to print.")] = 100,
    follow: Annotated[
        bool, typer.Option("--follow", "-f", help="Keep printing new events.")
    ] = False,
    config: ConfigOption = None,
) -> None:
    """Print events from the log (one line each: position, time, type, key, id)."""
    types = tuple(type_ or ("*",))

    async def work(log: EventLog) -> None:
        position = from_position
        while True:
            batch = await log.read(
                from_position=position, limit=limit, types=types, partitionkey=key
            )
            for logged in batch:
                console.print(_line(logged), markup=False, soft_wrap=True)
                position = max(position, logged.position + 1)
            if not follow:
                return
            if not batch:
                await asyncio.sleep(0.5)  # polling a log that has no push for readers

    _with_log(config, work)


@events_app.command("stats")
def stats_command(config: ConfigOption = None) -> None:
    """Per consumer group: lag, in-flight deliveries, redeliveries, dead letters."""
    stats = _with_log(config, lambda log: log.stats())
    table = Table(
        title=f"event log ({stats.backend}): {stats.events} events, last {stats.last_position}"
    )
    for column in ("group", "lag", "in flight", "redeliveries", "dead letters"):
        table.add_column(column, justify="left" if column == "group" else "right")
    for group in stats.groups:
        table.add_row(
            group.group,
            str(group.lag),
            str(group.in_flight),
            str(group.redeliveries),
            str(group.dead_letters),
        )
    console.print(table)


def parse_start(value: str) -> tuple[int | None, datetime | None]:
    """``--from``: a position (digits) or an ISO 8601 time (UTC when no offset is given)."""
    if value.isdigit():
        return int(value), None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise UsageError(f"--from: {value!r} is neither a position nor an ISO 8601 time") from exc
    return None, moment if moment.tzinfo else moment.replace(tzinfo=UTC)


@events_app.command("replay")
def replay_command(
    group: Annotated[str, typer.Option("--group", help="Consumer group to rewind.")],
    start: Annotated[str, typer.Option("--from", help="Position or ISO 8601 time.")],
    watch: Annotated[
        float, typer.Option(min=0, help="Seconds to show the group catching up (0: do not).")
    ] = 0.0,
    config: ConfigOption = None,
) -> None:
    """Deliver every event from a position or time again to one group (ids are kept)."""
    position, moment = parse_start(start)

    async def work(log: EventLog) -> None:
        await log.replay(group, from_position=position, from_time=moment)
        console.print(f"group {group} rewound to {start}")
        if watch:
            await _watch_lag(log, group, watch)

    _with_log(config, work)


async def _watch_lag(log: EventLog, group: str, seconds: float) -> None:
    """A progress bar of the group's lag going down (its consumers run elsewhere)."""

    async def lag() -> int:
        stats = await log.stats()
        return next((g.lag for g in stats.groups if g.group == group), 0)

    total = await lag()
    deadline = time.monotonic() + seconds
    with Progress(
        TextColumn(f"{group} catching up"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
    ) as progress:
        task = progress.add_task("replay", total=max(total, 1))
        remaining = total
        while remaining and time.monotonic() < deadline:
            await asyncio.sleep(0.5)
            remaining = await lag()
            total = max(total, remaining)
            progress.update(task, total=total, completed=total - remaining)


@dlq_app.command("list")
def dlq_list_command(
    group: Annotated[str | None, typer.Option("--group", help="Only this group.")] = None,
    limit: Annotated[int, typer.Option(min=1)] = 100,
    config: ConfigOption = None,
) -> None:
    """Dead letters: id, group, type, key, attempts, last error."""
    letters = _with_log(config, lambda log: log.dead_letters(group, limit=limit))
    table = Table(title=f"{len(letters)} dead letters")
    for column in ("id", "group", "type", "key", "attempts", "error"):
        table.add_column(column)
    for letter in letters:
        table.add_row(
            str(letter.id),
            letter.group,
            letter.type,
            letter.partitionkey,
            str(letter.attempts),
            letter.error,
        )
    console.print(table)


@dlq_app.command("show")
def dlq_show_command(dead_letter_id: int, config: ConfigOption = None) -> None:
    """One dead letter with its event, as JSON."""
    letter = _with_log(config, lambda log: log.get_dead_letter(dead_letter_id))
    console.print_json(
        json.dumps(
            {
                "id": letter.id,
                "group": letter.group,
                "position": letter.position,
                "attempts": letter.attempts,
                "error": letter.error,
                "dead_at": letter.dead_at.isoformat(),
                "event": json.loads(letter.envelope),
            }
        )
    )


@dlq_app.command("edit")
def dlq_edit_command(
    dead_letter_id: int,
    file: Annotated[Path, typer.Argument(help="JSON file with the corrected event (same id).")],
    config: ConfigOption = None,
) -> None:
    """Replace a dead letter's event before retrying it."""
    try:
        event = Event.model_validate_json(file.read_text())
    except (OSError, ValueError) as exc:
        raise ValidationError(f"{file}: not a valid event: {exc}", field="event") from exc
    letter = _with_log(config, lambda log: log.edit_dead_letter(dead_letter_id, event))
    console.print(f"dead letter {dead_letter_id} edited (now {letter.id})")


@dlq_app.command("retry")
def dlq_retry_command(
    ids: Annotated[list[int] | None, typer.Argument(help="Dead letter ids.")] = None,
    all_: Annotated[bool, typer.Option("--all", help="Every dead letter (of --group).")] = False,
    group: Annotated[str | None, typer.Option("--group")] = None,
    config: ConfigOption = None,
) -> None:
    """Deliver dead letters again to their group, with their original event ids."""
    if not ids and not all_:
        raise UsageError("give dead letter ids or --all")

    async def work(log: EventLog) -> int:
        chosen = list(ids or [])
        if all_:
            chosen += [letter.id for letter in await log.dead_letters(group, limit=1_000_000)]
        with Progress(
            TextColumn("retrying"), BarColumn(), MofNCompleteColumn(), console=console
        ) as progress:
            for dead_letter_id in progress.track(chosen):
                await log.retry_dead_letter(dead_letter_id)
        return len(chosen)

    retried = _with_log(config, work)
    console.print(f"{retried} dead letters retried")


@dlq_app.command("drop")
def dlq_drop_command(dead_letter_id: int, config: ConfigOption = None) -> None:
    """Delete a dead letter for good."""
    _with_log(config, lambda log: log.drop_dead_letter(dead_letter_id))
    console.print(f"dead letter {dead_letter_id} dropped")
