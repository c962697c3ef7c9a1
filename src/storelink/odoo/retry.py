"""Retrying what may succeed later, with exponential backoff and full jitter.

Only errors whose type says ``retryable`` are retried (transport failures,
502/503/504, PostgreSQL serialization faults); business refusals surface at
once with Odoo's message. An open circuit is not retried here: waiting out the
breaker is the caller's decision.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TypeVar

from storelink.errors import CircuitOpenError, StorelinkError

T = TypeVar("T")

Sleep = Callable[[float], Awaitable[None]]


def is_transient(error: BaseException) -> bool:
    """Whether trying the same thing again may work."""
    return (
        isinstance(error, StorelinkError)
        and error.retryable
        and not isinstance(error, CircuitOpenError)
    )


@dataclass(frozen=True)
class RetryPolicy:
    """``attempts`` tries in all; the n-th wait is uniform in ``[0, min(cap, base·2ⁿ)]``."""

    attempts: int = 4
    base_s: float = 0.2
    cap_s: float = 5.0
    sleep: Sleep = asyncio.sleep
    rng: random.Random = field(default_factory=random.Random)

    def delay(self, attempt: int) -> float:
        return self.rng.uniform(0, min(self.cap_s, self.base_s * 2**attempt))

    async def run(
        self, operation: Callable[[], Awaitable[T]], *, on_retry: Callable[[], None] | None = None
    ) -> T:
        """Run ``operation`` until it succeeds, fails for good, or attempts run out."""
        for attempt in range(self.attempts):
            try:
                return await operation()
            except StorelinkError as exc:
                if not is_transient(exc) or attempt == self.attempts - 1:
                    raise
                if on_retry is not None:
                    on_retry()
                await self.sleep(self.delay(attempt))
        raise AssertionError("unreachable")  # pragma: no cover
