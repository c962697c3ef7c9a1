"""The event log contract every backend keeps, and the values it hands out.

An :class:`EventLog` is an append-only log of :class:`~storelink.model.Event`
envelopes read by named, durable consumer groups. Each group sees every event
whose type matches its patterns, at least once, and never two un-acked
deliveries of the same ``partitionkey`` at a time — across every process
reading the group — so a failing event is not overtaken by a later one of the
same aggregate while other keys keep flowing. (NATS: the keys sharing its
partition wait with it, and a retried dead letter may run beside a later event
of its key; see :mod:`storelink.bus.backends.nats`.)

Two backends implement it (:mod:`storelink.bus.backends`): ``embedded`` (a
SQLite log in its own file) and ``nats`` (NATS JetStream). One contract-test
suite runs against both. Open one with :func:`storelink.bus.open_event_log`::

    log = await open_event_log(settings, engine)
    await log.subscribe(Subscription("odoo-sync", types=("storelink.sale.*",)))
    await log.append([event])
    for delivery in await log.fetch("odoo-sync", batch=100, timeout=1.0):
        ...
        await log.ack([delivery])
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from fnmatch import fnmatchcase
from functools import cached_property, lru_cache
from typing import Protocol, runtime_checkable

from storelink.errors import ValidationError
from storelink.model import Event

GROUP_NAME = re.compile(r"[A-Za-z0-9_-]{1,64}")


@dataclass(frozen=True)
class Subscription:
    """A durable consumer group: its name, the event types it reads and its delivery rules.

    ``types`` are glob patterns over event types (``storelink.stock.*``, ``*``).
    A delivery not acked within ``ack_wait_s`` is redelivered; after
    ``max_deliver`` deliveries without an ack it goes to the dead letters.
    """

    group: str
    types: tuple[str, ...] = ("*",)
    ack_wait_s: float = 30.0
    max_deliver: int = 5

    def __post_init__(self) -> None:
        # The name becomes a JetStream durable name and a subject token.
        if not GROUP_NAME.fullmatch(self.group):
            raise ValidationError(
                "a consumer group name is 1-64 letters, digits, '_' or '-'", field="group"
            )

    def wants(self, event_type: str) -> bool:
        return matches(event_type, self.types)


@dataclass(frozen=True)
class Delivery:
    """One delivery of an event to a consumer group.

    ``position`` is the event's place in the log (in the NATS backend: the
    sequence in its family's stream); ``attempt`` counts deliveries to this
    group, starting at 1. The envelope is parsed on first use of ``event``.
    ``receipt`` is the backend's handle for ack/nack and is not part of equality.
    """

    group: str
    position: int
    attempt: int
    event_id: str
    type: str
    partitionkey: str
    envelope: str
    appended_at: datetime
    receipt: object = field(default=None, compare=False, repr=False)

    @cached_property
    def event(self) -> Event:
        return Event.model_validate_json(self.envelope)


@dataclass(frozen=True)
class LoggedEvent:
    """An event as stored in the log (what ``tail`` shows)."""

    position: int
    appended_at: datetime
    event: Event


@dataclass(frozen=True)
class DeadLetter:
    """An event a group gave up on, with the last error; it can be edited and retried."""

    id: int
    group: str
    position: int
    event_id: str
    type: str
    partitionkey: str
    envelope: str
    error: str
    attempts: int
    dead_at: datetime

    @cached_property
    def event(self) -> Event:
        return Event.model_validate_json(self.envelope)


@dataclass(frozen=True)
class GroupStats:
    """Where one consumer group stands."""

    group: str
    #: events appended that the group has not yet acked (waiting or in flight)
    lag: int
    #: deliveries handed out and neither acked nor timed out yet (NATS: also those a
    #: process has received ahead of its next fetch)
    in_flight: int
    #: deliveries beyond the first, since the group was created
    redeliveries: int
    dead_letters: int


@dataclass(frozen=True)
class LogStats:
    backend: str
    #: events currently stored (after retention)
    events: int
    #: highest position appended so far (per-stream maximum for NATS)
    last_position: int
    groups: tuple[GroupStats, ...]


@dataclass(frozen=True)
class AppendResult:
    """Positions of the appended events, in order; ``duplicates`` were already in the log."""

    positions: tuple[int, ...]
    duplicates: int


@runtime_checkable
class EventLog(Protocol):
    """An append-only event log with durable consumer groups (see the module docstring)."""

    backend: str

    async def append(self, events: Sequence[Event]) -> AppendResult:
        """Append ``events`` in order; an event id already in the log is dropped."""
        ...

    async def subscribe(self, subscription: Subscription) -> None:
        """Create the consumer group if it does not exist (reading from the start of the log)."""
        ...

    async def fetch(self, group: str, *, batch: int = 100, wait_s: float = 0.0) -> list[Delivery]:
        """Up to ``batch`` deliveries for ``group``; waits up to ``wait_s`` for the first one."""
        ...

    async def ack(self, deliveries: Sequence[Delivery]) -> None:
        """The group is done with these deliveries; they are not delivered again."""
        ...

    async def nack(
        self, delivery: Delivery, *, delay: float = 0.0, error: str | None = None
    ) -> None:
        """Deliver again after ``delay`` seconds (to the dead letters once attempts run out)."""
        ...

    async def in_progress(self, delivery: Delivery) -> None:
        """Still working on it: restart the ack timeout."""
        ...

    async def dead_letter(self, delivery: Delivery, *, error: str) -> None:
        """Give up on this delivery now: park it in the dead letters with ``error``."""
        ...

    async def replay(
        self, group: str, *, from_position: int | None = None, from_time: datetime | None = None
    ) -> None:
        """Rewind ``group`` so it receives again every event from a position or an append time."""
        ...

    async def read(
        self,
        *,
        from_position: int = 0,
        limit: int = 100,
        types: Sequence[str] = ("*",),
        partitionkey: str | None = None,
    ) -> list[LoggedEvent]:
        """Stored events from ``from_position`` on, oldest first (no group state is touched)."""
        ...

    async def dead_letters(
        self, group: str | None = None, *, limit: int = 100
    ) -> list[DeadLetter]: ...

    async def get_dead_letter(self, dead_letter_id: int) -> DeadLetter:
        """One dead letter; :class:`~storelink.errors.NotFoundError` when there is none."""
        ...

    async def edit_dead_letter(self, dead_letter_id: int, event: Event) -> DeadLetter:
        """Replace the stored event (keeping its id) before a retry."""
        ...

    async def retry_dead_letter(self, dead_letter_id: int) -> None:
        """Deliver the dead letter again to its group only, with its original event id."""
        ...

    async def drop_dead_letter(self, dead_letter_id: int) -> None: ...

    async def trim(self, *, max_age_s: float | None = None, max_events: int | None = None) -> int:
        """Apply retention now; returns how many events were removed."""
        ...

    async def stats(self) -> LogStats: ...

    async def close(self) -> None: ...


def matches(event_type: str, patterns: Sequence[str]) -> bool:
    """Whether ``event_type`` matches any of the glob ``patterns``."""
    return _matches(event_type, tuple(patterns))


@lru_cache(maxsize=4096)
def _matches(event_type: str, patterns: tuple[str, ...]) -> bool:
    # Few types and patterns exist, and this runs for every event a group scans.
    return any(fnmatchcase(event_type, pattern) for pattern in patterns)
