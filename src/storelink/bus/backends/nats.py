"""The NATS JetStream event log.

Layout (``p`` is ``bus.nats_prefix``, ``N`` is ``bus.partitions``; names in
:mod:`~storelink.bus.backends.nats_layout`):

* one stream per event family, ``P_STOCK`` on subjects ``p.stock.>``; an event
  of type ``storelink.stock.moved.v1`` whose key hashes to partition ``n``
  (CRC-32 of the ``Storelink-Key``, modulo ``N``) is published on
  ``p.stock.<n>.moved.v1`` with ``Nats-Msg-Id`` = event id, so the stream
  drops a republished event within ``bus.duplicate_window_s``. The stream
  records ``N`` in its description; a process configured with another count
  is refused (its keys would land in other partitions and lose their order);
* per consumer group ``g``, one durable pull consumer ``g-p<n>`` per family
  stream it reads and partition, filtered on ``p.stock.<n>.>``, with explicit
  ack, ``AckWait`` and ``max_ack_pending = 1``; plus one (``g``, also
  ``max_ack_pending = 1``) on ``P_RETRIES`` (subject ``p.retries.<g>``), where
  retried dead letters go to that group only;
* ``P_DEADLETTERS`` (subject ``p.deadletters.<g>``): JetStream has no DLQ,
  so the log builds one: a delivery nacked on its last attempt, or delivered
  again after its last attempt timed out, is published there with its last
  error and terminated.

Order per key across processes: the server hands out a partition consumer's
next message only once the previous one is acked, terminated or back for
redelivery (a nak without delay, or its ``AckWait`` ran out: then it is that
message, not the next, that goes out again; a nak with a delay keeps it
unsettled until the delay ends). The server enforces this for every process
pulling from the group and across crashes: a process killed with a message
in hand blocks its partition until ``AckWait`` ends, and then the same message
is delivered again, to whichever process asks. So any number of processes
handle each key's events one at a time, in stream order. Positions are
sequences of the event's family stream.

Why ``max_ack_pending = 1`` rather than partition leases: leases keep order
only while clocks and pauses behave (a holder paused past its lease runs
beside its successor, and the successor must wait out the old holder's
``AckWait`` anyway), and they need a lease store, renewal and rebalancing.
The server-side limit has no such window and nothing to rebalance; every
process pulls from every partition and whoever asks first gets the next one.
The price is throughput per partition: one event per round trip (deliver,
handle, ack), and a key that waits for a retry holds back the other keys of
its partition. A group therefore handles at most ``N`` events of a family at
once across all its processes. With ``N = 16``, one process fetching and
acking in batches moved 3,000-5,000 events/s over 500 keys on a loaded
2-core machine, against 8,000-10,000 for the earlier in-process hold-back
(which kept order only inside one process); more partitions give more
parallel handlers, at one durable consumer per group, family and partition
(a group reading all 13 families has 209). Fetches do not ask each consumer
in turn: a :class:`~storelink.bus.backends.nats_pull.PullSet` keeps one
request waiting on each, so an idle fetch costs one probe interval, not one
per consumer, and a busy one about a request per event.

Limits: ``AckWait`` is the claim on a delivery. A handler still running when
it ends (a paused process; a handler slower than it that does not call
``in_progress``) runs beside the redelivery, and its late ack can release the
partition's next event early; consumers dedupe by event id
(:class:`~storelink.bus.Consumer`), which covers the repeat but not that
overlap. A retried dead letter comes from its own stream: its key's order was
given up when it was parked, and it may be handled beside a later event of
its key. ``bus.partitions`` is fixed for the life of the streams, and events
stored before streams were partitioned (on ``p.stock.moved.v1``) are not read
by partition consumers: drain the groups before upgrading, or use a new prefix.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.errors import Error as NatsError
from nats.js.api import AckPolicy, ConsumerConfig, ConsumerInfo, DeliverPolicy, StreamConfig
from nats.js.errors import NotFoundError as JsNotFoundError

from storelink.bus.backend import (
    AppendResult,
    DeadLetter,
    Delivery,
    GroupStats,
    LoggedEvent,
    LogStats,
    Subscription,
    matches,
)
from storelink.bus.backends.nats_layout import DEADLETTERS, FAMILIES, RETRIES, Layout, family
from storelink.bus.backends.nats_pull import PullSet
from storelink.bus.metrics import (
    ACKED,
    APPENDED,
    CONSUMER_LAG,
    DEAD_LETTERED,
    DELIVERED,
    PUBLISH_SECONDS,
    REDELIVERED,
    count_types,
)
from storelink.config.sections import BusSettings
from storelink.errors import BusError, ConsumerError, NotFoundError, PublishError, ValidationError
from storelink.model import PAYLOAD_TYPES, Event
from storelink.ops.logging import get_logger

_log = get_logger("storelink.bus.nats")

KEY = "Storelink-Key"
GROUP = "Storelink-Group"
ERROR = "Storelink-Error"
ATTEMPTS = "Storelink-Attempts"
POSITION = "Storelink-Position"

MessageId = tuple[str, int]
#: unsettled messages a partition consumer allows: one, so a key's events go one at a time
PARTITION_MAX_ACK_PENDING = 1
#: nack errors remembered for the dead letter of a later timeout (older ones are forgotten)
ERRORS_KEPT = 10_000
#: consumers created (or deleted, on replay) at once: one JetStream API call each
CREATE_CONCURRENCY = 32


@dataclass
class _Group:
    """What this process knows about one consumer group."""

    subscription: Subscription
    #: (stream, consumer) of every consumer the group reads through
    consumers: list[tuple[str, str]]
    pulls: PullSet
    #: the error of the last nack of a message, for its dead letter if it then times out
    errors: dict[MessageId, str] = field(default_factory=dict)


class NatsEventLog:
    """The :class:`~storelink.bus.EventLog` on NATS JetStream (see the module docstring)."""

    backend = "nats"

    def __init__(self, client: Client, settings: BusSettings) -> None:
        self.client = client
        self.js = client.jetstream()
        self.settings = settings
        self.prefix = settings.nats_prefix
        self.layout = Layout(settings.nats_prefix, settings.partitions)
        self._streams: set[str] = set()
        self._groups: dict[str, _Group] = {}

    @classmethod
    async def open(cls, url: str, settings: BusSettings) -> NatsEventLog:
        log = cls(Client(), settings)
        try:
            await log.client.connect(
                url,
                connect_timeout=3,
                max_reconnect_attempts=-1,
                allow_reconnect=True,
                reconnected_cb=log._reconnected,
                error_cb=log._connection_error,
            )
        except (OSError, NatsError, TimeoutError) as exc:
            raise BusError(f"cannot connect to NATS at {url}: {exc}", url=url) from exc
        return log

    async def _connection_error(self, error: Exception) -> None:
        # the client reconnects by itself: one line per failed attempt, not nats-py's traceback
        _log.warning("bus.nats_connection_error", error=str(error) or type(error).__name__)

    async def _reconnected(self) -> None:
        # A restarted server forgot the pull requests waiting on it: ask again now
        # rather than when they would have expired.
        for state in self._groups.values():
            state.pulls.forget_requests()

    # -- streams ----------------------------------------------------------------------

    def _families_of(self, subscription: Subscription) -> list[str]:
        return sorted({family(t) for t in PAYLOAD_TYPES if subscription.wants(t)})

    async def _ensure_stream(self, stream_family: str) -> str:
        name = self.layout.stream(stream_family)
        if name in self._streams:
            return name
        # Retention applies to the log; dead letters and retries stay until handled.
        kept = stream_family not in (RETRIES, DEADLETTERS)
        config = StreamConfig(
            name=name,
            subjects=[self.layout.stream_subject(stream_family)],
            description=json.dumps({"partitions": self.layout.partitions}) if kept else None,
            max_age=(self.settings.retention_max_age_s or None) if kept else None,
            max_msgs=(self.settings.retention_max_events or -1) if kept else -1,
            duplicate_window=self.settings.duplicate_window_s,
        )
        try:
            await self.js.add_stream(config)
        except NatsError:
            if kept:
                await self._check_partitions(name)
            await self.js.update_stream(config)
        self._streams.add(name)
        return name

    async def _check_partitions(self, stream: str) -> None:
        """Refuse a family stream created with another partition count."""
        info = await self.js.stream_info(stream)
        recorded = _metadata(info.config.description).get("partitions")
        if recorded is not None and recorded != self.layout.partitions:
            raise BusError(
                f"stream {stream} was created with {recorded} partitions but bus.partitions is "
                f"{self.layout.partitions}; keys would change partition and lose their order",
                stream=stream,
                partitions=recorded,
            )

    # -- append -----------------------------------------------------------------------

    async def append(self, events: Sequence[Event]) -> AppendResult:
        if not events:
            return AppendResult((), 0)
        started = time.perf_counter()
        for name in {family(event.type) for event in events}:
            await self._ensure_stream(name)
        try:
            acks = await asyncio.gather(
                *(
                    self.js.publish(
                        self.layout.subject(event.type, event.partitionkey),
                        event.model_dump_json().encode(),
                        headers={"Nats-Msg-Id": event.id, KEY: event.partitionkey},
                    )
                    for event in events
                )
            )
        except (NatsError, TimeoutError) as exc:
            raise PublishError(f"publish to NATS failed: {exc}") from exc
        PUBLISH_SECONDS.observe(time.perf_counter() - started)
        count_types(APPENDED, (event.type for event in events))
        return AppendResult(tuple(ack.seq for ack in acks), sum(bool(a.duplicate) for a in acks))

    # -- groups -----------------------------------------------------------------------

    async def _targets(self, subscription: Subscription) -> list[tuple[str, str, str]]:
        """(stream, consumer, filter subject) of every consumer of the group."""
        targets: list[tuple[str, str, str]] = []
        for stream_family in self._families_of(subscription):
            stream = await self._ensure_stream(stream_family)
            wanted = [
                t for t in PAYLOAD_TYPES if family(t) == stream_family and subscription.wants(t)
            ]
            for partition in range(self.layout.partitions):
                subject = self.layout.partition_filter(stream_family, partition, wanted)
                targets.append(
                    (stream, self.layout.consumer(subscription.group, partition), subject)
                )
        retries = await self._ensure_stream(RETRIES)
        targets.append((retries, subscription.group, self.layout.retry_subject(subscription.group)))
        return targets

    def _consumer_config(
        self, subscription: Subscription, name: str, subject: str, start: dict[str, Any]
    ) -> ConsumerConfig:
        return ConsumerConfig(
            durable_name=name,
            # where another process finds the group's rules (metadata needs JetStream 2.10)
            description=json.dumps(
                {
                    "group": subscription.group,
                    "types": list(subscription.types),
                    "max_deliver": subscription.max_deliver,
                }
            ),
            ack_policy=AckPolicy.EXPLICIT,
            ack_wait=subscription.ack_wait_s,
            # The log enforces max_deliver itself so the last failure reaches the DLQ.
            max_deliver=-1,
            filter_subject=subject,
            max_ack_pending=PARTITION_MAX_ACK_PENDING,
            **start,
        )

    async def subscribe(self, subscription: Subscription, **start: Any) -> None:
        targets = await self._targets(subscription)
        limit = asyncio.Semaphore(CREATE_CONCURRENCY)

        async def create(stream: str, name: str, subject: str) -> None:
            async with limit:
                config = self._consumer_config(subscription, name, subject, start)
                await self._add_consumer(subscription, stream, config, rewound=bool(start))

        await asyncio.gather(*(create(*target) for target in targets))
        consumers = [(stream, name) for stream, name, _ in targets]
        pulls = PullSet(self.client, consumers, stale_s=subscription.ack_wait_s / 2)
        await pulls.open()
        old = self._groups.pop(subscription.group, None)
        if old is not None:
            await old.pulls.close()
        self._groups[subscription.group] = _Group(subscription, consumers, pulls)

    async def _add_consumer(
        self, subscription: Subscription, stream: str, config: ConsumerConfig, *, rewound: bool
    ) -> None:
        """Create (or update) one consumer; ``rewound`` ones (a replay) must be new."""
        name = config.durable_name
        info: ConsumerInfo
        try:
            info = await self.js.add_consumer(stream, config)
        except NatsError as exc:
            existing = None if rewound else await self._consumer(stream, name)
            if existing is None:
                raise ConsumerError(
                    f"cannot create consumer {name} on {stream}: {exc}", group=subscription.group
                ) from exc
            # It exists with rules that cannot be changed in place: use it as it is...
            info = existing
        # ... unless it would hand out two events of a partition at once.
        if info.config.max_ack_pending != PARTITION_MAX_ACK_PENDING:
            raise ConsumerError(
                f"consumer {name} on {stream} allows {info.config.max_ack_pending} unsettled "
                "messages; per-key order needs 1 (delete it, or use another bus.nats_prefix)",
                group=subscription.group,
            )

    async def _consumer(self, stream: str, name: str | None) -> ConsumerInfo | None:
        if name is None:
            return None
        try:
            info: ConsumerInfo = await self.js.consumer_info(stream, name)
        except NatsError:
            return None
        return info

    async def _group(self, group: str) -> _Group:
        state = self._groups.get(group)
        if state is None:
            subscription = await self._find_subscription(group)
            await self.subscribe(subscription)
            state = self._groups[group]
        return state

    async def _find_subscription(self, group: str) -> Subscription:
        """A group created by another process, from its consumers' description."""
        for stream_family in FAMILIES:
            info = await self._consumer(
                self.layout.stream(stream_family), self.layout.consumer(group, 0)
            )
            if info is None:
                continue
            rules = _metadata(info.config.description)
            return Subscription(
                group,
                tuple(rules.get("types", ["*"])),
                float(info.config.ack_wait or 30.0),
                int(rules.get("max_deliver", 5)),
            )
        raise ConsumerError(f"no consumer group {group!r}; subscribe first", group=group)

    # -- fetch and settle -------------------------------------------------------------

    async def fetch(self, group: str, *, batch: int = 100, wait_s: float = 0.0) -> list[Delivery]:
        state = await self._group(group)
        deadline = time.monotonic() + wait_s
        while True:
            messages = await state.pulls.take(batch, max(0.0, deadline - time.monotonic()))
            out = await self._sort(state, messages)
            # Everything taken was skipped or buried: the group may still have more.
            if out or not messages:
                break
        # One event per partition at a time, so a batch never holds two of one key;
        # across partitions, hand them out in the order they were appended.
        out.sort(key=lambda delivery: (delivery.appended_at, delivery.position))
        count_types(DELIVERED, (d.type for d in out), group)
        count_types(REDELIVERED, (d.type for d in out if d.attempt > 1), group)
        return out

    async def _sort(self, state: _Group, messages: list[Msg]) -> list[Delivery]:
        """Deliver, skip or bury each pulled message; returns the deliveries."""
        out: list[Delivery] = []
        for message in messages:
            delivery = self._delivery(state, message)
            if not state.subscription.wants(delivery.type):
                await message.ack()
                continue
            if delivery.attempt > state.subscription.max_deliver:
                error = state.errors.pop(_id(delivery), None)
                await self._bury(
                    state, delivery, error or f"not acked within {state.subscription.ack_wait_s}s"
                )
                continue
            out.append(delivery)
        return out

    def _delivery(self, state: _Group, message: Msg) -> Delivery:
        metadata = message.metadata
        envelope = message.data.decode()
        headers = message.headers or {}
        parsed = json.loads(envelope)
        return Delivery(
            group=state.subscription.group,
            position=int(headers.get(POSITION, metadata.sequence.stream)),
            attempt=metadata.num_delivered,
            event_id=parsed["id"],
            type=parsed["type"],
            partitionkey=headers.get(KEY) or parsed["partitionkey"],
            envelope=envelope,
            appended_at=metadata.timestamp,
            receipt=message,
        )

    async def ack(self, deliveries: Sequence[Delivery]) -> None:
        for delivery in deliveries:
            await _receipt(delivery).ack()
            state = self._groups.get(delivery.group)
            if state is not None:
                state.errors.pop(_id(delivery), None)
            ACKED.labels(delivery.group, delivery.type).inc()
        # Acks are fire-and-forget; one round trip makes them settled when ack returns.
        await self.client.flush()

    async def nack(
        self, delivery: Delivery, *, delay: float = 0.0, error: str | None = None
    ) -> None:
        state = await self._group(delivery.group)
        if delivery.attempt >= state.subscription.max_deliver:
            await self._bury(state, delivery, error or f"nacked {delivery.attempt} times")
            return
        if error is not None:
            state.errors[_id(delivery)] = error
            while len(state.errors) > ERRORS_KEPT:  # acked by another process: never popped here
                del state.errors[next(iter(state.errors))]
        await _receipt(delivery).nak(delay=delay if delay > 0 else None)

    async def in_progress(self, delivery: Delivery) -> None:
        await _receipt(delivery).in_progress()

    async def dead_letter(self, delivery: Delivery, *, error: str) -> None:
        await self._bury(await self._group(delivery.group), delivery, error)

    async def _bury(self, state: _Group, delivery: Delivery, error: str) -> None:
        await self._ensure_stream(DEADLETTERS)
        try:
            await self.js.publish(
                self.layout.dead_letter_subject(delivery.group),
                delivery.envelope.encode(),
                headers={
                    "Nats-Msg-Id": f"{delivery.group}:{delivery.event_id}:{delivery.attempt}",
                    KEY: delivery.partitionkey,
                    GROUP: delivery.group,
                    ERROR: error[:4000].replace("\r", " ").replace("\n", " "),
                    ATTEMPTS: str(delivery.attempt),
                    POSITION: str(delivery.position),
                },
            )
        except (NatsError, TimeoutError) as exc:
            raise PublishError(f"dead-letter publish failed: {exc}", group=delivery.group) from exc
        await _receipt(delivery).term()
        state.errors.pop(_id(delivery), None)
        DEAD_LETTERED.labels(delivery.group, delivery.type).inc()

    async def replay(
        self, group: str, *, from_position: int | None = None, from_time: datetime | None = None
    ) -> None:
        if (from_position is None) == (from_time is None):
            raise ValidationError("give exactly one of from_position and from_time", field="from")
        state = await self._group(group)
        await state.pulls.close()
        del self._groups[group]
        limit = asyncio.Semaphore(CREATE_CONCURRENCY)

        async def delete(stream: str, name: str) -> None:
            async with limit:
                with contextlib.suppress(NatsError):
                    await self.js.delete_consumer(stream, name)

        await asyncio.gather(*(delete(stream, name) for stream, name in state.consumers))
        start: dict[str, Any] = (
            {"deliver_policy": DeliverPolicy.BY_START_SEQUENCE, "opt_start_seq": from_position}
            if from_position is not None
            else {"deliver_policy": DeliverPolicy.BY_START_TIME, "opt_start_time": from_time}
        )
        await self.subscribe(state.subscription, **start)

    # -- reading ----------------------------------------------------------------------

    async def _message(self, stream: str, seq: int, stream_family: str) -> Any | None:
        """The first message at or after ``seq`` in ``stream``, or None."""
        try:
            return await self.js.get_msg(
                stream, seq, subject=self.layout.stream_subject(stream_family), next=True
            )
        except JsNotFoundError:
            return None

    async def read(
        self,
        *,
        from_position: int = 0,
        limit: int = 100,
        types: Sequence[str] = ("*",),
        partitionkey: str | None = None,
    ) -> list[LoggedEvent]:
        found: list[LoggedEvent] = []
        for stream_family in FAMILIES:
            stream = self.layout.stream(stream_family)
            if not await self._exists(stream):
                continue
            seq, taken = max(1, from_position), 0
            while taken < limit:
                raw = await self._message(stream, seq, stream_family)
                if raw is None:
                    break
                seq = raw.seq + 1
                event = Event.model_validate_json(raw.data)
                if not matches(event.type, types):
                    continue
                if partitionkey is not None and event.partitionkey != partitionkey:
                    continue
                found.append(LoggedEvent(raw.seq, raw.time or datetime.now(UTC), event))
                taken += 1
        found.sort(key=lambda logged: (logged.appended_at, logged.position))
        return found[:limit]

    async def _exists(self, stream: str) -> bool:
        try:
            await self.js.stream_info(stream)
        except NatsError:
            return False
        return True

    # -- dead letters -----------------------------------------------------------------

    async def dead_letters(self, group: str | None = None, *, limit: int = 100) -> list[DeadLetter]:
        stream = await self._ensure_stream(DEADLETTERS)
        letters: list[DeadLetter] = []
        seq = 1
        while len(letters) < limit:
            raw = await self._message(stream, seq, DEADLETTERS)
            if raw is None:
                break
            seq = raw.seq + 1
            letter = _dead_letter(raw)
            if group is None or letter.group == group:
                letters.append(letter)
        return letters

    async def get_dead_letter(self, dead_letter_id: int) -> DeadLetter:
        stream = await self._ensure_stream(DEADLETTERS)
        try:
            raw = await self.js.get_msg(stream, dead_letter_id)
        except JsNotFoundError as exc:
            raise NotFoundError(
                f"no dead letter {dead_letter_id}", dead_letter=dead_letter_id
            ) from exc
        return _dead_letter(raw)

    async def edit_dead_letter(self, dead_letter_id: int, event: Event) -> DeadLetter:
        """Store the edited event as a new dead letter (a new id) and drop the old one."""
        current = await self.get_dead_letter(dead_letter_id)
        if event.id != current.event_id:
            raise ValidationError(
                "an edited dead letter keeps its event id", field="id", expected=current.event_id
            )
        ack = await self.js.publish(
            self.layout.dead_letter_subject(current.group),
            event.model_dump_json().encode(),
            headers={
                "Nats-Msg-Id": f"edit:{dead_letter_id}:{time.time_ns()}",
                KEY: event.partitionkey,
                GROUP: current.group,
                ERROR: current.error,
                ATTEMPTS: str(current.attempts),
                POSITION: str(current.position),
            },
        )
        await self.js.delete_msg(self.layout.stream(DEADLETTERS), dead_letter_id)
        return await self.get_dead_letter(ack.seq)

    async def retry_dead_letter(self, dead_letter_id: int) -> None:
        letter = await self.get_dead_letter(dead_letter_id)
        await self._ensure_stream(RETRIES)
        await self.js.publish(
            self.layout.retry_subject(letter.group),
            letter.envelope.encode(),
            headers={
                "Nats-Msg-Id": f"retry:{dead_letter_id}:{letter.event_id}",
                KEY: letter.partitionkey,
                POSITION: str(letter.position),
            },
        )
        await self.js.delete_msg(self.layout.stream(DEADLETTERS), dead_letter_id)

    async def drop_dead_letter(self, dead_letter_id: int) -> None:
        await self.get_dead_letter(dead_letter_id)
        await self.js.delete_msg(self.layout.stream(DEADLETTERS), dead_letter_id)

    # -- retention and stats ----------------------------------------------------------

    async def trim(self, *, max_age_s: float | None = None, max_events: int | None = None) -> int:
        """Purge old events from every family stream (``max_events`` applies per stream)."""
        removed = 0
        for stream_family in FAMILIES:
            stream = self.layout.stream(stream_family)
            if not await self._exists(stream):
                continue
            if max_age_s is not None:
                cutoff = time.time() - max_age_s
                first = await self._first_seq_after(stream, stream_family, cutoff)
                removed += await self._purge(stream, seq=first)
            if max_events is not None:
                removed += await self._purge(stream, keep=max_events)
        return removed

    async def _first_seq_after(self, stream: str, stream_family: str, cutoff: float) -> int:
        """The first sequence appended at or after ``cutoff`` (one past the last if none)."""
        info = await self.js.stream_info(stream)
        low, high = info.state.first_seq, info.state.last_seq + 1
        while low < high:  # binary search over append times, which only grow
            middle = (low + high) // 2
            raw = await self._message(stream, middle, stream_family)
            if raw is None or raw.time is None or raw.time.timestamp() >= cutoff:
                high = middle
            else:
                low = raw.seq + 1
        return low

    async def _purge(self, stream: str, *, seq: int | None = None, keep: int | None = None) -> int:
        before = (await self.js.stream_info(stream)).state.messages
        await self.js.purge_stream(stream, seq=seq, keep=keep)
        return int(before - (await self.js.stream_info(stream)).state.messages)

    async def stats(self) -> LogStats:
        groups: dict[str, list[int]] = {}
        events = last = 0
        for stream_family in [*FAMILIES, RETRIES]:
            stream = self.layout.stream(stream_family)
            try:
                info = await self.js.stream_info(stream)
            except NatsError:
                continue
            if stream_family != RETRIES:
                events += info.state.messages
                last = max(last, info.state.last_seq)
            for consumer in await self._consumers_info(stream):
                # a group's consumers (one per partition) carry its name in their description
                name = _metadata(consumer.config.description).get("group", consumer.name)
                totals = groups.setdefault(str(name), [0, 0, 0])
                totals[0] += (consumer.num_pending or 0) + (consumer.num_ack_pending or 0)
                totals[1] += consumer.num_ack_pending or 0
                totals[2] += consumer.num_redelivered or 0
        dead_stream = await self._ensure_stream(DEADLETTERS)
        info = await self.js.stream_info(
            dead_stream, subjects_filter=self.layout.stream_subject(DEADLETTERS)
        )
        dead = {
            subject.rsplit(".", 1)[1]: count
            for subject, count in (info.state.subjects or {}).items()
        }
        result = tuple(
            GroupStats(name, lag, in_flight, redelivered, dead.get(name, 0))
            for name, (lag, in_flight, redelivered) in sorted(groups.items())
        )
        for group in result:
            CONSUMER_LAG.labels(group.group).set(group.lag)
        return LogStats(self.backend, events, last, result)

    async def _consumers_info(self, stream: str) -> list[ConsumerInfo]:
        """Every consumer of ``stream`` (the server lists 256 at a time)."""
        found: list[ConsumerInfo] = []
        while True:
            page = await self.js.consumers_info(stream, offset=len(found) or None)
            found += page
            if not page:
                return found

    async def delete_all(self) -> None:
        """Delete every stream under this prefix (tests and benchmarks clean up with it)."""
        for stream_family in [*FAMILIES, RETRIES, DEADLETTERS]:
            with contextlib.suppress(NatsError):
                await self.js.delete_stream(self.layout.stream(stream_family))
        self._streams.clear()

    async def close(self) -> None:
        for state in self._groups.values():
            await state.pulls.close()
        self._groups.clear()
        with contextlib.suppress(NatsError):
            await self.client.drain()


def _id(delivery: Delivery) -> MessageId:
    metadata = _receipt(delivery).metadata
    return (metadata.stream, metadata.sequence.stream)


def _receipt(delivery: Delivery) -> Msg:
    receipt = delivery.receipt
    if not isinstance(receipt, Msg):
        raise ConsumerError("delivery was not made by the NATS event log", group=delivery.group)
    return receipt


def _metadata(description: str | None) -> dict[str, Any]:
    """The JSON object a stream or consumer description holds (empty if it holds none)."""
    try:
        parsed = json.loads(description or "{}")
    except ValueError:
        return {}
    return parsed if isinstance(parsed, dict) else {}


def _dead_letter(raw: Any) -> DeadLetter:
    headers = raw.headers or {}
    envelope = raw.data.decode()
    parsed = json.loads(envelope)
    return DeadLetter(
        id=raw.seq,
        group=headers.get(GROUP, ""),
        position=int(headers.get(POSITION, 0)),
        event_id=parsed["id"],
        type=parsed["type"],
        partitionkey=headers.get(KEY) or parsed["partitionkey"],
        envelope=envelope,
        error=headers.get(ERROR, ""),
        attempts=int(headers.get(ATTEMPTS, 0)),
        dead_at=raw.time or datetime.now(UTC),
    )
