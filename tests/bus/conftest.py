"""Fixtures of the bus tests: event logs of both backends on fresh storage."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest

from storelink.bus import EventLog
from storelink.bus.backends.embedded import EmbeddedEventLog
from storelink.bus.backends.nats import NatsEventLog
from storelink.config.sections import BusSettings

#: opens another log on the same storage (a new process, as far as the log can tell)
LogFactory = Callable[[], Awaitable[EventLog]]


@pytest.fixture(params=["embedded", pytest.param("nats", marks=pytest.mark.nats)])
async def open_log(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[LogFactory]:
    """A factory of event logs sharing one fresh store, for each backend."""
    opened: list[EventLog] = []
    if request.param == "embedded":
        settings = BusSettings()

        async def factory() -> EventLog:
            log = await EmbeddedEventLog.open(tmp_path / "events.db", settings)
            opened.append(log)
            return log

    else:
        url: str = request.getfixturevalue("nats_url")
        settings = BusSettings(nats_prefix=f"t{uuid.uuid4().hex[:10]}")

        async def factory() -> EventLog:
            log = await NatsEventLog.open(url, settings)
            opened.append(log)
            return log

    try:
        yield factory
    finally:
        for log in opened:
            await log.close()
        if request.param == "nats":
            cleaner = await NatsEventLog.open(request.getfixturevalue("nats_url"), settings)
            await cleaner.delete_all()
            await cleaner.close()


@pytest.fixture
async def event_log(open_log: LogFactory) -> EventLog:
    return await open_log()
