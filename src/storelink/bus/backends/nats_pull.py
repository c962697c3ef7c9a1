"""Pulling from many JetStream consumers at once, one message at a time from each.

A consumer group reads every partition of every family it wants through its
own consumer, each allowed one unsettled message. Asking every consumer at
every fetch would cost one request per consumer per fetch (13 families x 16
partitions: some 200 requests, tens of milliseconds of CPU, even when idle).
A :class:`PullSet` instead keeps one pull request (batch 1) waiting at the
server on each of its consumers, all answered on one wildcard inbox. The
server pushes a partition's next message the moment the previous one is
settled — by this process or any other — to the oldest waiting request of any
process; a fetch takes what has arrived or waits for the first arrival; a
consumer is asked again only once its request was answered or expired. An
idle group costs one request per consumer every :data:`REQUEST_S`, a busy one
about one request per message, and an idle fetch one probe interval.

What arrives between two fetches waits here, already delivered: its ack wait
runs and it counts as in flight. One that waited longer than ``stale_s`` is
dropped unsettled when taken (the server delivers it again when its ack wait
ends), so a process that stopped fetching for a while never hands out a
delivery whose claim may have passed to another process. ``close`` hands the
waiting ones back (nak) so another process gets them at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass

from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription as NatsSubscription
from nats.errors import Error as NatsError

#: how long the server keeps one pull request waiting for a message
REQUEST_S = 5.0
#: how long a fetch that has just asked waits for answers before deciding nothing is there
PROBE_S = 0.01
_REQUEST = json.dumps({"batch": 1, "expires": int(REQUEST_S * 1e9)}).encode()


@dataclass
class _Pull:
    stream: str
    consumer: str
    #: when the request waiting at the server expires (monotonic; 0.0: none is waiting)
    waiting_until: float = 0.0


class PullSet:
    """One waiting pull request per ``(stream, consumer)``; see the module docstring."""

    def __init__(
        self,
        client: Client,
        consumers: Sequence[tuple[str, str]],
        *,
        stale_s: float,
        api_prefix: str = "$JS.API",
    ) -> None:
        self.client = client
        self.stale_s = stale_s
        self.api_prefix = api_prefix
        self._pulls = [_Pull(stream, consumer) for stream, consumer in consumers]
        self._inbox = client.new_inbox()
        self._by_inbox = {self._reply(index): index for index in range(len(self._pulls))}
        self._by_consumer = {(p.stream, p.consumer): i for i, p in enumerate(self._pulls)}
        #: delivered messages not taken yet, with their arrival time
        self._arrived: deque[tuple[Msg, float]] = deque()
        self._arrival = asyncio.Event()
        self._subscription: NatsSubscription | None = None

    async def open(self) -> None:
        self._subscription = await self.client.subscribe(f"{self._inbox}.*", cb=self._on_message)

    async def take(self, limit: int, wait_s: float) -> list[Msg]:
        """Up to ``limit`` delivered messages; waits up to ``wait_s`` for the first one."""
        deadline = time.monotonic() + wait_s
        if await self._ask() and not self._arrived:
            # Requests just sent need a round trip before "nothing" is the answer:
            # one probe interval for all of them, so one fetch takes all that is there.
            await asyncio.sleep(PROBE_S)
        if not self._arrived:
            idle_since = time.monotonic()
            await self._wait(deadline)
            if self._arrived and time.monotonic() - idle_since >= PROBE_S:
                # After a quiet spell events tend to come together (an append, ack
                # waits running out at once): give the rest a probe interval to land
                # in this fetch. A busy group, whose next events land within a round
                # trip of its acks, does not pay it.
                await asyncio.sleep(PROBE_S)
        await self._settle_arrivals()
        taken: list[Msg] = []
        now = time.monotonic()
        while self._arrived and len(taken) < limit:
            message, arrived_at = self._arrived.popleft()
            waited = now - arrived_at
            if waited >= self.stale_s:
                continue
            if waited > self.stale_s / 5:
                await message.in_progress()  # it waited here: give its handler a full ack wait
            taken.append(message)
        # Ask the consumers that just answered again now: the server holds the
        # request until this process (or another) settles what it is handling.
        await self._ask()
        return taken

    def forget_requests(self) -> None:
        """The server lost the waiting requests (it restarted): ask every consumer again."""
        for pull in self._pulls:
            pull.waiting_until = 0.0
        self._arrival.set()  # a fetch waiting now asks at once

    async def close(self) -> None:
        """Stop receiving and hand back what arrived but was not taken."""
        if self._subscription is not None:
            with contextlib.suppress(NatsError):
                await self._subscription.unsubscribe()
                await self.client.flush()
            self._subscription = None
        while self._arrived:
            message, _ = self._arrived.popleft()
            with contextlib.suppress(NatsError):
                await message.nak()

    async def _on_message(self, message: Msg) -> None:
        # A batch-1 request ends with its message or with a status (408 expired,
        # 409 consumer deleted or leader changed, ...). A status comes on the
        # request's own inbox; a message keeps its stream subject and names its
        # consumer in its ack subject.
        if message.headers and message.headers.get("Status"):
            index = self._by_inbox.get(message.subject)
            if index is not None:
                self._pulls[index].waiting_until = 0.0
            return
        metadata = message.metadata
        index = self._by_consumer.get((metadata.stream, metadata.consumer))
        if index is not None:
            self._pulls[index].waiting_until = 0.0
        self._arrived.append((message, time.monotonic()))
        self._arrival.set()

    async def _ask(self) -> bool:
        """Send a request to every consumer with none waiting; whether any was sent."""
        now = time.monotonic()
        asked = False
        for index, pull in enumerate(self._pulls):
            if pull.waiting_until > now:
                continue
            pull.waiting_until = now + REQUEST_S
            await self.client.publish(
                f"{self.api_prefix}.CONSUMER.MSG.NEXT.{pull.stream}.{pull.consumer}",
                _REQUEST,
                reply=self._reply(index),
            )
            asked = True
        return asked

    def _reply(self, index: int) -> str:
        return f"{self._inbox}.{index}"

    async def _wait(self, deadline: float) -> None:
        """Until something arrives or ``deadline`` passed, asking again as requests expire."""
        while not self._arrived:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return
            self._arrival.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._arrival.wait(), min(remaining, REQUEST_S / 2))
            await self._ask()

    async def _settle_arrivals(self) -> None:
        """Let messages already read off the socket reach the set, so one fetch takes them all."""
        if not self._arrived:
            return
        while True:
            count = len(self._arrived)
            await asyncio.sleep(0)
            if len(self._arrived) == count:
                return
