"""Waiting on an event log without sleeping blindly."""

from __future__ import annotations

import time
from collections.abc import Sequence

from storelink.bus import AppendResult, Delivery, EventLog
from storelink.model import Event


async def collect(
    log: EventLog, group: str, count: int, *, within_s: float = 10.0, batch: int = 100
) -> list[Delivery]:
    """Fetch until ``count`` deliveries arrived (or ``within_s`` passed); nothing is acked."""
    got: list[Delivery] = []
    deadline = time.monotonic() + within_s
    while len(got) < count:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            break
        got += await log.fetch(group, batch=min(batch, count - len(got)), wait_s=min(remaining, 1))
    return got


async def consume_all(
    log: EventLog, group: str, count: int, *, within_s: float = 10.0
) -> list[Delivery]:
    """Fetch and ack until ``count`` deliveries were acked."""
    got: list[Delivery] = []
    deadline = time.monotonic() + within_s
    while len(got) < count and time.monotonic() < deadline:
        batch = await log.fetch(group, batch=100, wait_s=0.5)
        await log.ack(batch)
        got += batch
    return got


class RelayCrash(Exception):
    """The relay process died right after the log took its batch."""


class CrashAfterAppend:
    """An event log wrapper whose ``append`` succeeds and then 'kills' the caller."""

    def __init__(self, log: EventLog) -> None:
        self.log = log

    def __getattr__(self, name: str) -> object:
        return getattr(self.log, name)

    async def append(self, events: Sequence[Event]) -> AppendResult:
        await self.log.append(events)
        raise RelayCrash("killed between publish and mark")
