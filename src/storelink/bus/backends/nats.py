"""The NATS JetStream event log.

Layout (``p`` is ``bus.nats_prefix``):

* one stream per event family, ``P_STOCK`` on subjects ``p.stock.>``; an event
  of type ``storelink.stock.moved.v1`` is published on ``p.stock.moved.v1``
  with ``Nats-Msg-Id`` = event id, so the stream drops a republished event
  within ``bus.duplicate_window_s``;
* per consumer group, one durable pull consumer on each family stream it
  reads (explicit ack, ``AckWait``), plus one on ``P_RETRIES`` (subject
  ``p.retry.<group>``) where retried dead letters go to that group only;
* ``P_DEADLETTERS`` (subject ``p.deadletter.<group>``): JetStream has no DLQ,
  so the log builds one: a delivery nacked on its last attempt, or delivered
  again after its last attempt timed out, is published there with its last
  error and terminated.

Ordering per key under redelivery: JetStream hands out later messages while an
earlier one waits for redelivery, so the log holds back (and keeps alive with
``+WPI``) any message whose key has an earlier delivery outstanding in this
process and releases it when that one is acked or dead-lettered. Within one
process per group this keeps per-key order; positions are sequences of the
event's family stream.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

import nats
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.errors import Error as NatsError
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy, StreamConfig
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

KEY = "Storelink-Key"
GROUP = "Storelink-Group"
ERROR = "Storelink-Error"
ATTEMPTS = "Storelink-Attempts"
POSITION = "Storelink-Position"
RETRIES = "retries"
DEADLETTERS = "deadletters"

MessageId = tuple[str, int]
#: how long a fetch listens on each stream before deciding nothing is there
PROBE_S = 0.01


def family(event_type: str) -> str:
    """``storelink.stock.moved.v1`` belongs to the ``stock`` family."""
    return event_type.split(".")[1]


FAMILIES: tuple[str, ...] = tuple(sorted({family(t) for t in PAYLOAD_TYPES}))


@dataclass
class _Held:
    delivery: Delivery
    touched: float


@dataclass
class _Group:
    """What this process knows about one consumer group."""

    subscription: Subscription
    #: stream name -> pull subscription
    pulls: dict[str, JetStreamContext.PullSubscription]
    #: key -> message id of the one delivery of that key handed out
    in_flight: dict[str, MessageId] = field(default_factory=dict)
    #: key -> later messages of that key, in stream order, waiting for it
    held: dict[str, dict[MessageId, _Held]] = field(default_factory=dict)
    #: released from held, to hand out on the next fetch
    ready: OrderedDict[MessageId, Delivery] = field(default_factory=OrderedDict)
    errors: dict[MessageId, str] = field(default_factory=dict)
    #: deliveries of a message the server made while this process held it back
    wasted: dict[MessageId, int] = field(default_factory=dict)


class NatsEventLog:
    """The :class:`~storelink.bus.EventLog` on NATS JetStream (see the module docstring)."""

    backend = "nats"

    def __init__(self, client: Client, settings: BusSettings) -> None:
        self.client = client
        self.js = client.jetstream()
        self.settings = settings
        self.prefix = settings.nats_prefix
        self._streams: set[str] = set()
        self._groups: dict[str, _Group] = {}

    @classmethod
    async def open(cls, url: str, settings: BusSettings) -> NatsEventLog:
        try:
            client = await nats.connect(
                url, connect_timeout=3, max_reconnect_attempts=-1, allow_reconnect=True
            )
        except (OSError, NatsError, TimeoutError) as exc:
            raise BusError(f"cannot connect to NATS at {url}: {exc}", url=url) from exc
        return cls(client, settings)

    # -- names ------------------------------------------------------------------------

    def stream_name(self, family: str) -> str:
        return f"{self.prefix}_{family}".upper().replace("-", "_")

    def subject(self, event_type: str) -> str:
        return f"{self.prefix}.{event_type.split('.', 1)[1]}"

    def _families_of(self, subscription: Subscription) -> list[str]:
        return sorted({family(t) for t in PAYLOAD_TYPES if subscription.wants(t)})

    async def _ensure_stream(self, stream_family: str) -> str:
        name = self.stream_name(stream_family)
        if name in self._streams:
            return name
        subjects = [f"{self.prefix}.{stream_family}.>"]
        # Retention applies to the log; dead letters and retries stay until handled.
        kept = stream_family not in (RETRIES, DEADLETTERS)
        config = StreamConfig(
            name=name,
            subjects=subjects,
            max_age=(self.settings.retention_max_age_s or None) if kept else None,
            max_msgs=(self.settings.retention_max_events or -1) if kept else -1,
            duplicate_window=self.settings.duplicate_window_s,
        )
        try:
            await self.js.add_stream(config)
        except NatsError:
            await self.js.update_stream(config)
        self._streams.add(name)
        return name

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
                        self.subject(event.type),
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

    def _consumer_config(
        self, subscription: Subscription, stream_family: str, **start: Any
    ) -> ConsumerConfig:
        # One filter subject per consumer (JetStream before 2.10 has no filter_subjects);
        # a group wanting some but not all types of a family skips the others in fetch.
        if stream_family == RETRIES:
            subject = f"{self.prefix}.{RETRIES}.{subscription.group}"
        else:
            wanted = [
                t for t in PAYLOAD_TYPES if family(t) == stream_family and subscription.wants(t)
            ]
            subject = (
                self.subject(wanted[0]) if len(wanted) == 1 else f"{self.prefix}.{stream_family}.>"
            )
        return ConsumerConfig(
            durable_name=subscription.group,
            # where another process finds the group's rules (metadata needs JetStream 2.10)
            description=json.dumps(
                {"types": list(subscription.types), "max_deliver": subscription.max_deliver}
            ),
            ack_policy=AckPolicy.EXPLICIT,
            ack_wait=subscription.ack_wait_s,
            # The log enforces max_deliver itself so the last failure reaches the DLQ.
            max_deliver=-1,
            filter_subject=subject,
            max_ack_pending=10_000,
            **start,
        )

    async def subscribe(self, subscription: Subscription, **start: Any) -> None:
        pulls: dict[str, JetStreamContext.PullSubscription] = {}
        for stream_family in [*self._families_of(subscription), RETRIES]:
            stream = await self._ensure_stream(stream_family)
            config = self._consumer_config(subscription, stream_family, **start)
            try:
                await self.js.add_consumer(stream, config)
            except NatsError as exc:
                if start or not await self._consumer_exists(stream, subscription.group):
                    raise ConsumerError(
                        f"cannot create consumer {subscription.group} on {stream}: {exc}",
                        group=subscription.group,
                    ) from exc
                # It exists with other rules (set by an older deployment): use it as it is.
            pulls[stream] = await self.js.pull_subscribe_bind(
                durable=subscription.group, stream=stream
            )
        old = self._groups.pop(subscription.group, None)
        if old is not None:
            await _unsubscribe(old)
        self._groups[subscription.group] = _Group(subscription, pulls)

    async def _consumer_exists(self, stream: str, group: str) -> bool:
        try:
            await self.js.consumer_info(stream, group)
        except NatsError:
            return False
        return True

    async def _group(self, group: str) -> _Group:
        state = self._groups.get(group)
        if state is None:
            subscription = await self._find_subscription(group)
            await self.subscribe(subscription)
            state = self._groups[group]
        return state

    async def _find_subscription(self, group: str) -> Subscription:
        """A group created by another process, from its consumers' metadata."""
        for stream_family in FAMILIES:
            try:
                info = await self.js.consumer_info(self.stream_name(stream_family), group)
            except NatsError:
                continue
            rules = json.loads(info.config.description or "{}")
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
        await self._keep_held_alive(state)
        fresh: list[Delivery] = []
        room = batch - len(state.ready)
        if room > 0:
            messages = await self._pull(state, room, 0.0 if state.ready else wait_s)
            fresh = await self._sort(state, messages)
        out: list[Delivery] = []
        while state.ready and len(out) < batch:
            _, released = state.ready.popitem(last=False)
            # It may have waited a while: give the consumer a full ack wait.
            await _receipt(released).in_progress()
            out.append(released)
        out += fresh
        count_types(DELIVERED, (d.type for d in out), group)
        count_types(REDELIVERED, (d.type for d in out if d.attempt > 1), group)
        return out

    async def _sort(self, state: _Group, messages: list[Msg]) -> list[Delivery]:
        """Deliver, hold back, skip or bury each pulled message; returns the deliveries."""
        out: list[Delivery] = []
        for message in messages:
            delivery = self._delivery(state, message)
            if not state.subscription.wants(delivery.type):
                await message.ack()
                continue
            message_id = _id(delivery)
            current = state.in_flight.get(delivery.partitionkey)
            waiting = current is not None and current != message_id
            if waiting or message_id in state.ready:
                # Held back behind an earlier message of its key, or released but not
                # handed out yet: a delivery spent waiting is not an attempt of the consumer.
                wasted = state.wasted.get(message_id, 0) + 1
                state.wasted[message_id] = wasted
                if waiting:
                    state.held.setdefault(delivery.partitionkey, {})[message_id] = _Held(
                        delivery, time.monotonic()
                    )
                else:
                    state.ready[message_id] = replace(delivery, attempt=delivery.attempt - wasted)
                continue
            delivery = replace(delivery, attempt=delivery.attempt - state.wasted.get(message_id, 0))
            state.in_flight[delivery.partitionkey] = message_id
            if delivery.attempt > state.subscription.max_deliver:
                error = state.errors.pop(message_id, None)
                await self._bury(
                    state, delivery, error or f"not acked within {state.subscription.ack_wait_s}s"
                )
                continue
            out.append(delivery)
        return out

    async def _pull(self, state: _Group, batch: int, wait_s: float) -> list[Msg]:
        """Take what is available on every stream of the group; if nothing, wait for the first."""
        pulls = list(state.pulls.values())
        results = await asyncio.gather(*(_take(pull, batch, PROBE_S) for pull in pulls))
        messages = [message for result in results for message in result]
        if messages or wait_s <= PROBE_S:
            return messages
        tasks = [asyncio.ensure_future(_take(pull, batch, wait_s)) for pull in pulls]
        try:
            done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
            while done and not any(task.result() for task in done):
                # A stream came back empty: keep waiting on the others.
                pending = [task for task in tasks if not task.done()]
                if not pending:
                    break
                done, _ = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in tasks:
                task.cancel()
            # Messages a cancelled fetch receives stay queued on its subscription
            # and are handed out by the next fetch.
            await asyncio.gather(*tasks, return_exceptions=True)
        return [m for task in tasks if task.done() and not task.cancelled() for m in task.result()]

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

    async def _keep_held_alive(self, state: _Group) -> None:
        now = time.monotonic()
        refresh = state.subscription.ack_wait_s / 3
        for waiting in state.held.values():
            for held in waiting.values():
                if now - held.touched > refresh:
                    await _receipt(held.delivery).in_progress()
                    held.touched = now

    def _release(self, state: _Group, delivery: Delivery) -> None:
        """``delivery`` is settled: hand out the next held message of its key, if any."""
        key = delivery.partitionkey
        state.wasted.pop(_id(delivery), None)
        if state.in_flight.get(key) != _id(delivery):
            return
        del state.in_flight[key]
        waiting = state.held.get(key)
        if not waiting:
            return
        next_id = min(waiting, key=lambda message_id: message_id[1])
        held = waiting.pop(next_id)
        if not waiting:
            del state.held[key]
        state.in_flight[key] = next_id
        # The held delivery becomes a real attempt.
        wasted = state.wasted.get(next_id, 1) - 1
        state.wasted[next_id] = wasted
        state.ready[next_id] = replace(held.delivery, attempt=held.delivery.attempt - wasted)

    async def ack(self, deliveries: Sequence[Delivery]) -> None:
        for delivery in deliveries:
            await _receipt(delivery).ack()
            state = self._groups.get(delivery.group)
            if state is not None:
                state.errors.pop(_id(delivery), None)
                self._release(state, delivery)
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
        await _receipt(delivery).nak(delay=delay if delay > 0 else None)

    async def in_progress(self, delivery: Delivery) -> None:
        await _receipt(delivery).in_progress()

    async def dead_letter(self, delivery: Delivery, *, error: str) -> None:
        await self._bury(await self._group(delivery.group), delivery, error)

    async def _bury(self, state: _Group, delivery: Delivery, error: str) -> None:
        await self._ensure_stream(DEADLETTERS)
        try:
            await self.js.publish(
                f"{self.prefix}.{DEADLETTERS}.{delivery.group}",
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
        self._release(state, delivery)
        DEAD_LETTERED.labels(delivery.group, delivery.type).inc()

    async def replay(
        self, group: str, *, from_position: int | None = None, from_time: datetime | None = None
    ) -> None:
        if (from_position is None) == (from_time is None):
            raise ValidationError("give exactly one of from_position and from_time", field="from")
        state = await self._group(group)
        await _unsubscribe(state)
        del self._groups[group]
        for stream in state.pulls:
            with contextlib.suppress(NatsError):
                await self.js.delete_consumer(stream, group)
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
                stream, seq, subject=f"{self.prefix}.{stream_family}.>", next=True
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
            stream = self.stream_name(stream_family)
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
            f"{self.prefix}.{DEADLETTERS}.{current.group}",
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
        await self.js.delete_msg(self.stream_name(DEADLETTERS), dead_letter_id)
        return await self.get_dead_letter(ack.seq)

    async def retry_dead_letter(self, dead_letter_id: int) -> None:
        letter = await self.get_dead_letter(dead_letter_id)
        await self._ensure_stream(RETRIES)
        await self.js.publish(
            f"{self.prefix}.{RETRIES}.{letter.group}",
            letter.envelope.encode(),
            headers={
                "Nats-Msg-Id": f"retry:{dead_letter_id}:{letter.event_id}",
                KEY: letter.partitionkey,
                POSITION: str(letter.position),
            },
        )
        await self.js.delete_msg(self.stream_name(DEADLETTERS), dead_letter_id)

    async def drop_dead_letter(self, dead_letter_id: int) -> None:
        await self.get_dead_letter(dead_letter_id)
        await self.js.delete_msg(self.stream_name(DEADLETTERS), dead_letter_id)

    # -- retention and stats ----------------------------------------------------------

    async def trim(self, *, max_age_s: float | None = None, max_events: int | None = None) -> int:
        """Purge old events from every family stream (``max_events`` applies per stream)."""
        removed = 0
        for stream_family in FAMILIES:
            stream = self.stream_name(stream_family)
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
            stream = self.stream_name(stream_family)
            try:
                info = await self.js.stream_info(stream)
            except NatsError:
                continue
            if stream_family != RETRIES:
                events += info.state.messages
                last = max(last, info.state.last_seq)
            for consumer in await self.js.consumers_info(stream):
                totals = groups.setdefault(consumer.name, [0, 0, 0])
                totals[0] += (consumer.num_pending or 0) + (consumer.num_ack_pending or 0)
                totals[1] += consumer.num_ack_pending or 0
                totals[2] += consumer.num_redelivered or 0
        dead_stream = await self._ensure_stream(DEADLETTERS)
        info = await self.js.stream_info(
            dead_stream, subjects_filter=f"{self.prefix}.{DEADLETTERS}.>"
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

    async def delete_all(self) -> None:
        """Delete every stream under this prefix (tests and benchmarks clean up with it)."""
        for stream_family in [*FAMILIES, RETRIES, DEADLETTERS]:
            with contextlib.suppress(NatsError):
                await self.js.delete_stream(self.stream_name(stream_family))
        self._streams.clear()

    async def close(self) -> None:
        for state in self._groups.values():
            await _unsubscribe(state)
        self._groups.clear()
        with contextlib.suppress(NatsError):
            await self.client.drain()


async def _take(pull: JetStreamContext.PullSubscription, batch: int, wait_s: float) -> list[Msg]:
    with contextlib.suppress(TimeoutError, NatsError):
        messages: list[Msg] = await pull.fetch(max(batch, 2), timeout=wait_s)
        return messages
    return []


def _id(delivery: Delivery) -> MessageId:
    metadata = _receipt(delivery).metadata
    return (metadata.stream, metadata.sequence.stream)


def _receipt(delivery: Delivery) -> Msg:
    receipt = delivery.receipt
    if not isinstance(receipt, Msg):
        raise ConsumerError("delivery was not made by the NATS event log", group=delivery.group)
    return receipt


async def _unsubscribe(state: _Group) -> None:
    for pull in state.pulls.values():
        with contextlib.suppress(NatsError):
            await pull.unsubscribe()


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
