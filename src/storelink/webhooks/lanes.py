"""Per-endpoint lanes: claimed deliveries queued locally and the workers sending them.

Each endpoint with claims gets ``max_concurrency`` long-lived workers pulling
from its own queue. A worker that finishes an attempt takes its endpoint's next
claim at once — no task per claim, no semaphore hand-off, no wait for the next
database pass — and a slow endpoint only ever ties up its own workers.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from storelink.webhooks.dispatcher import Claim, Outcome


@dataclass
class _Lane:
    limit: int
    #: claims waiting for a worker; ``None`` tells one worker to stop
    queue: asyncio.Queue[Claim | None] = field(default_factory=asyncio.Queue)
    workers: list[asyncio.Task[None]] = field(default_factory=list)
    busy: int = 0

    @property
    def idle(self) -> bool:
        return self.busy == 0 and self.queue.empty()


class Lanes:
    """Runs ``attempt`` for every submitted claim within its endpoint's concurrency and
    hands each outcome to ``finished`` (from the worker, as soon as it is known);
    ``attempt`` returns None for a claim it decided not to send."""

    def __init__(
        self,
        attempt: Callable[[Claim], Awaitable[Outcome | None]],
        finished: Callable[[Outcome], None],
    ) -> None:
        self._attempt = attempt
        self._finished = finished
        self._lanes: dict[str, _Lane] = {}
        self._retired: list[_Lane] = []

    def submit(self, claim: Claim) -> None:
        lane = self._lanes.get(claim.endpoint_id)
        if lane is None or lane.limit != claim.max_concurrency:
            if lane is not None:  # its concurrency changed: the old lane finishes what it has
                self._retire(lane)
            lane = self._lanes[claim.endpoint_id] = self._open(claim.max_concurrency)
        lane.queue.put_nowait(claim)

    def close_idle(self) -> None:
        """Stop the workers of endpoints that have nothing queued or in flight."""
        for endpoint_id, lane in list(self._lanes.items()):
            if lane.idle:
                del self._lanes[endpoint_id]
                self._retire(lane)
        self._retired = [lane for lane in self._retired if not all(w.done() for w in lane.workers)]

    async def close(self, grace_s: float) -> None:
        """Let the workers attempt what they hold (for at most ``grace_s`` seconds), then
        cancel the rest: their claims stay leased and fall due when the lease ends."""
        for lane in self._lanes.values():
            self._retire(lane)
        self._lanes = {}
        workers = [worker for lane in self._retired for worker in lane.workers]
        self._retired = []
        if not workers:
            return
        _, stuck = await asyncio.wait(workers, timeout=grace_s)
        for worker in stuck:
            worker.cancel()
        if stuck:
            await asyncio.wait(stuck)

    def _open(self, limit: int) -> _Lane:
        lane = _Lane(limit)
        lane.workers = [asyncio.create_task(self._work(lane)) for _ in range(limit)]
        return lane

    def _retire(self, lane: _Lane) -> None:
        for _ in lane.workers:
            lane.queue.put_nowait(None)
        self._retired.append(lane)

    async def _work(self, lane: _Lane) -> None:
        while (claim := await lane.queue.get()) is not None:
            lane.busy += 1
            try:
                outcome = await self._attempt(claim)
            finally:
                lane.busy -= 1
            if outcome is not None:
                self._finished(outcome)
