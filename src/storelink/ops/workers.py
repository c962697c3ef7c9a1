"""Long-running workers and the supervisor every service runs them under.

A worker is anything with ``run_once()`` (one pass, returns the work done) and
``run(stop)`` (loop until ``stop`` is set): the outbox relay, the webhook feed,
dispatcher and pruner, the Odoo workers. The hub and ``storelink webhooks
worker`` run each under :func:`supervise`, so one worker's failure (a locked
database, a bug) is logged and retried instead of taking the process down.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Protocol

from storelink.ops.logging import get_logger

log = get_logger("storelink.workers")

#: how long a failed worker waits before it starts again
RESTART_S = 1.0


class Worker(Protocol):
    """A long-running job: one pass at a time, or a loop until ``stop`` is set."""

    async def run_once(self) -> int: ...

    async def run(self, stop: asyncio.Event) -> None: ...


async def supervise(worker: Worker, stop: asyncio.Event) -> None:
    """Run ``worker`` until ``stop``; if it fails, log it and start it again."""
    while not stop.is_set():
        try:
            await worker.run(stop)
        except Exception:
            log.exception("worker.failed", worker=type(worker).__name__, restart_in_s=RESTART_S)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=RESTART_S)


async def run_all(workers: list[Worker], stop: asyncio.Event) -> None:
    """Run every worker concurrently, each supervised, until ``stop`` is set."""
    async with asyncio.TaskGroup() as group:
        for worker in workers:
            group.create_task(supervise(worker, stop))
