"""What every rate-limit backend shares: the rate, the decision, the bucket arithmetic.

A client's bucket holds up to ``burst`` tokens and refills at ``per_s`` tokens per
second; a request takes one token or is refused with the time until the next one.
Each backend keeps ``(tokens, updated)`` per key somewhere else (this process, the
hub's database, Redis) and applies :func:`refill` to it in one atomic step, so the
decisions of every backend are the same for the same sequence of calls (the
contract tests in ``tests/api/test_rate_limit_backends.py`` hold them to it).

Time is the caller's: each call passes ``now`` in seconds, so tests drive a fake
clock and workers on one shared bucket agree as far as their clocks do. A bucket
never moves back in time (``updated`` only grows), so a worker whose clock lags
refills nothing rather than handing out tokens twice.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class Rate:
    per_s: float
    burst: int


@dataclass(frozen=True)
class Decision:
    allowed: bool
    limit: int
    remaining: int
    #: seconds until the bucket is full again
    reset_s: int
    #: seconds until one more request is allowed (0 when allowed)
    retry_after_s: int

    def headers(self) -> dict[str, str]:
        """IETF ``RateLimit-*`` headers (plus ``Retry-After`` when refused)."""
        headers = {
            "RateLimit-Limit": str(self.limit),
            "RateLimit-Remaining": str(self.remaining),
            "RateLimit-Reset": str(self.reset_s),
        }
        if not self.allowed:
            headers["Retry-After"] = str(self.retry_after_s)
        return headers


@dataclass(frozen=True)
class Refill:
    """One step of a bucket: whether the request got a token, and what is left."""

    allowed: bool
    tokens: float
    updated: float


def refill(tokens: float, updated: float, now: float, rate: Rate) -> Refill:
    """The bucket ``(tokens, updated)`` at ``now`` after one request asked for a token.

    The database statement and the Redis script compute exactly this.
    """
    refilled = min(float(rate.burst), tokens + max(0.0, now - updated) * rate.per_s)
    allowed = refilled >= 1.0
    return Refill(allowed, refilled - 1.0 if allowed else refilled, max(updated, now))


def decision(rate: Rate, allowed: bool, tokens: float) -> Decision:
    """The answer (and its headers) for a bucket left with ``tokens``."""
    missing = rate.burst - tokens
    return Decision(
        allowed=allowed,
        limit=rate.burst,
        remaining=int(tokens),
        reset_s=math.ceil(missing / rate.per_s) if missing > 0 else 0,
        retry_after_s=0 if allowed else max(1, math.ceil((1.0 - tokens) / rate.per_s)),
    )


class RateLimitBackend(Protocol):
    """Where buckets live. ``take`` is atomic per key across every caller of the backend.

    A backend that cannot answer (its server down, its pool exhausted) raises
    :class:`~storelink.errors.StorageError`; :class:`~storelink.api.ratelimit.RateLimiter`
    then decides in the process instead.
    """

    #: "memory", "database" or "redis" (metrics and logs)
    name: str

    async def take(self, key: str, rate: Rate, now: float) -> Decision: ...

    async def aclose(self) -> None: ...
