"""``storelink events …`` on the embedded log."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from storelink.bus import Subscription
from storelink.bus.backends.embedded import EmbeddedEventLog
from storelink.cli import main
from storelink.config.sections import BusSettings
from storelink.model import Event
from tests.bus.events import product_changed, stock_moved


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("STORELINK_DATA_DIR", str(tmp_path))
    return tmp_path


async def seed(path: Path, events: list[Event]) -> int:
    """Append ``events``; group ``g`` dead-letters the first one; returns its dead letter id."""
    log = await EmbeddedEventLog.open(path, BusSettings())
    try:
        await log.append(events)
        await log.subscribe(Subscription("g", ("storelink.stock.*",), max_deliver=1))
        first = (await log.fetch("g", batch=1))[0]
        await log.dead_letter(first, error="bad quantity")
        (letter,) = await log.dead_letters("g")
        return letter.id
    finally:
        await log.close()


async def fetch_ids(path: Path) -> list[str]:
    log = await EmbeddedEventLog.open(path, BusSettings())
    try:
        return [d.event_id for d in await log.fetch("g", batch=10)]
    finally:
        await log.close()


def test_tail_stats_and_dead_letters(data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    events = [stock_moved("A"), stock_moved("B"), product_changed("A")]
    letter_id = asyncio.run(seed(data_dir / "events.db", events))

    assert main(["events", "tail", "--key", "A"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[-1] for line in lines] == [events[0].id, events[2].id]

    assert main(["events", "tail", "--type", "storelink.product.*"]) == 0
    assert capsys.readouterr().out.split()[-1] == events[2].id

    assert main(["events", "stats"]) == 0
    row = next(line for line in capsys.readouterr().out.splitlines() if " g " in line)
    assert [cell.strip() for cell in row.strip("│ ").split("│")] == ["g", "1", "0", "0", "1"]

    assert main(["events", "dlq", "list"]) == 0
    assert "bad quantity" in capsys.readouterr().out

    assert main(["events", "dlq", "show", str(letter_id)]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["event"]["id"] == events[0].id
    assert shown["error"] == "bad quantity"

    assert main(["events", "dlq", "retry", str(letter_id)]) == 0
    assert "1 dead letters retried" in capsys.readouterr().out
    assert asyncio.run(fetch_ids(data_dir / "events.db")) == [events[0].id, events[1].id]

    assert main(["events", "dlq", "drop", str(letter_id)]) == 1
    assert capsys.readouterr().err.strip() == f"error: no dead letter {letter_id}"


def test_replay_takes_a_position_or_a_time(
    data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    asyncio.run(seed(data_dir / "events.db", [stock_moved("A"), stock_moved("B")]))

    assert main(["events", "replay", "--group", "g", "--from", "1"]) == 0
    assert main(["events", "replay", "--group", "g", "--from", "2026-01-01T00:00:00Z"]) == 0
    assert main(["events", "replay", "--group", "g", "--from", "yesterday"]) == 2
    assert "neither a position nor" in capsys.readouterr().err
    assert main(["events", "replay", "--group", "nobody", "--from", "1"]) == 1
