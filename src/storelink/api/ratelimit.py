"""Per-client token buckets with an injectable clock.

Each client has a bucket of ``burst`` tokens refilled at ``per_s`` tokens per
second; a request takes one token or is refused with the time until the next
token. Buckets live in the process (one hub process answers a client's burst;
several workers each enforce the limit, which the README documents).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass


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


@dataclass
class _Bucket:
    tokens: float
    updated: float


class RateLimiter:
    """Token buckets keyed by client id; ``clock`` returns seconds (monotonic or fake)."""

    def __init__(self, clock: Callable[[], float]) -> None:
        self._clock = clock
        self._buckets: dict[str, _Bucket] = {}

    def take(self, key: str, rate: Rate) -> Decision:
        now = self._clock()
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = self._buckets[key] = _Bucket(tokens=float(rate.burst), updated=now)
        elapsed = max(0.0, now - bucket.updated)
        bucket.tokens = min(float(rate.burst), bucket.tokens + elapsed * rate.per_s)
        bucket.updated = now
        allowed = bucket.tokens >= 1.0
        if allowed:
            bucket.tokens -= 1.0
        missing = rate.burst - bucket.tokens
        return Decision(
            allowed=allowed,
            limit=rate.burst,
            remaining=int(bucket.tokens),
            reset_s=math.ceil(missing / rate.per_s) if missing > 0 else 0,
            retry_after_s=0 if allowed else max(1, math.ceil((1.0 - bucket.tokens) / rate.per_s)),
        )
