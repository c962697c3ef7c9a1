"""One elected leader for the work only one hub worker may do at a time.

:class:`Leadership` wraps a :class:`~storelink.ops.workers.Worker` (change capture,
the outbox relay, the webhook pruner): every hub process runs the wrapper, and the
wrapped worker runs only in the process holding the lease ``leader:<name>``
(:mod:`storelink.db.leases`). The holder renews every ``renew_s`` (a third of the TTL
by default); when a renewal fails — the lease expired and someone took it, or the
database cannot be reached — the wrapped worker is told to stop at once and is
cancelled if it has not stopped within ``renew_s``. The others try to take the lease
every ``renew_s``: when the leader dies, one of them leads within the TTL plus one
try. A leader that stops cleanly gives the lease up, so the next one starts at once::

    relay = Leadership(Relay(engine, log), LeaseStore(engine), "relay", worker_id())
    await relay.run(stop)                      # relays only while elected

What holds: at any moment at most one process holds the lease, and a leader that
loses it is stopped within ``renew_s`` of noticing.

What does not: leadership is not a fence on what the wrapped worker writes. A leader
paused past its TTL (SIGSTOP, a frozen VM) resumes believing it leads, and may finish
the step it was in — or run one more — before its next renewal tells it otherwise,
while the new leader already works. The wrapped workers are built to survive that
overlap: change capture advances each feed's cursor by compare-and-swap (the loser
rolls back), the relay locks the outbox rows it publishes and the event log drops an
event id it already holds, the pruner deletes what is expired either way. Leadership
makes the overlap rare and short; it does not make it impossible.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass

from storelink.db.leases import LeaseStore
from storelink.ops.logging import get_logger
from storelink.ops.workers import Worker

_log = get_logger("storelink.leadership")

PREFIX = "leader:"


@dataclass
class Leadership:
    """Runs ``worker`` only while this process holds ``leader:<name>``; a hub Worker itself."""

    worker: Worker
    leases: LeaseStore
    name: str
    holder: str
    ttl_s: float = 10.0
    #: renewal (and, for the others, election) period; 0 means a third of ``ttl_s``
    renew_s: float = 0.0
    #: the fencing token of the tenure held, if any
    token: int | None = None

    def __post_init__(self) -> None:
        self.renew_s = self.renew_s or self.ttl_s / 3

    @property
    def lease(self) -> str:
        return f"{PREFIX}{self.name}"

    @property
    def label(self) -> str:
        """What to call this worker in logs and listings: the wrapped worker's class."""
        return type(self.worker).__name__

    @property
    def leading(self) -> bool:
        return self.token is not None

    async def run_once(self) -> int:
        """One pass of the wrapped worker if this process holds (or can take) the lease."""
        if not await self._renew() and not await self._acquire():
            return 0
        return await self.worker.run_once()

    async def run(self, stop: asyncio.Event) -> None:
        """Stand for election every ``renew_s``; lead while elected; until ``stop``."""
        while not stop.is_set():
            if await self._acquire():
                await self._lead(stop)
            else:
                await _pause(stop, self.renew_s)

    async def _lead(self, stop: asyncio.Event) -> None:
        _log.info("leader elected", lease=self.lease, holder=self.holder, token=self.token)
        quit_ = asyncio.Event()
        task = asyncio.create_task(self.worker.run(quit_), name=f"leader {self.name}")
        try:
            while not stop.is_set() and not task.done():
                waiters = {task, asyncio.ensure_future(stop.wait())}
                _, pending = await asyncio.wait(
                    waiters, timeout=self.renew_s, return_when=asyncio.FIRST_COMPLETED
                )
                for waiter in pending - {task}:
                    waiter.cancel()
                if stop.is_set() or task.done():
                    break
                if not await self._renew():
                    _log.warning("leader lost its lease", lease=self.lease, holder=self.holder)
                    break
        finally:
            quit_.set()
            await self._stop(task)
            await self._release()
        failure = None if task.cancelled() else task.exception()
        if failure is not None:
            raise failure  # the supervisor logs it and stands for election again

    async def _stop(self, task: asyncio.Task[None]) -> None:
        """Let the wrapped worker stop on its own for ``renew_s``, then cancel it."""
        done, _ = await asyncio.wait({task}, timeout=self.renew_s)
        if not done:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _acquire(self) -> bool:
        self.token = await self.leases.acquire(self.lease, self.holder, self.ttl_s)
        return self.token is not None

    async def _renew(self) -> bool:
        """Extend the tenure held; false (and no tenure) if there is none or it is lost."""
        if self.token is None:
            return False
        try:
            renewed = await self.leases.renew(self.lease, self.holder, self.token, self.ttl_s)
        except Exception as exc:  # cannot confirm the lease: stop leading rather than guess
            _log.warning("leader could not renew", lease=self.lease, error=str(exc))
            renewed = False
        if not renewed:
            self.token = None
        return renewed

    async def _release(self) -> None:
        """Give the lease up if still held (a clean stop: the next leader need not wait)."""
        if self.token is None:
            return
        token, self.token = self.token, None
        try:
            await self.leases.release(self.lease, self.holder, token)
        except Exception as exc:  # it expires after its TTL anyway
            _log.warning("leader could not give its lease up", lease=self.lease, error=str(exc))


async def _pause(stop: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), seconds)
