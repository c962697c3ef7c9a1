"""The loop every agent worker runs: work while there is work, back off while the hub is away."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable

from storelink.errors import StorelinkError
from storelink.ops.logging import get_logger
from storelink.sync.backoff import Backoff

_log = get_logger("storelink.edge")


def retry_delay(exc: StorelinkError, backoff: Backoff) -> float:
    """The backoff's next delay, but never sooner than the hub's ``Retry-After``."""
    asked = exc.context.get("retry_after_s")
    delay = backoff.next_delay()
    return max(delay, float(asked)) if isinstance(asked, int | float) else delay


async def repeat(
    name: str,
    run_once: Callable[[], Awaitable[int]],
    stop: asyncio.Event,
    *,
    idle_s: float,
    backoff: Backoff,
    wake: asyncio.Event | None = None,
) -> None:
    """Call ``run_once`` until ``stop``: again at once after work, after ``idle_s`` (or a
    ``wake``) when idle, and after a jittered, growing delay when it fails."""
    while not stop.is_set():
        failed = False
        try:
            done = await run_once()
        except StorelinkError as exc:
            failed = True
            delay = retry_delay(exc, backoff)
            _log.warning(f"{name} failed", error=str(exc), retry_in_s=round(delay, 3))
        else:
            backoff.reset()
            if done:
                continue
            delay = idle_s
        waiters = [asyncio.ensure_future(stop.wait())]
        # new work cuts an idle wait short, never a backoff: a busy till must not turn
        # into a stream of retries against a hub that is down
        if wake is not None and not failed:
            waiters.append(asyncio.ensure_future(wake.wait()))
        _, pending = await asyncio.wait(waiters, timeout=delay, return_when=asyncio.FIRST_COMPLETED)
        for waiter in waiters:
            waiter.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.gather(*pending, return_exceptions=True)
        if wake is not None:
            wake.clear()
