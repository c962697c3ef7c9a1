"""What the bus's long-running workers (relay, consumer) share."""

from __future__ import annotations

import asyncio
import contextlib


async def idle(stop: asyncio.Event, seconds: float) -> None:
    """Wait ``seconds``, or less if ``stop`` is set meanwhile."""
    if seconds <= 0:
        return
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), seconds)
