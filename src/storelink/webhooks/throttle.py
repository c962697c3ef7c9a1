"""Per-endpoint throttling: a token bucket per endpoint, read through the clock."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass
class TokenBucket:
    """``rate`` tokens per second, holding at most ``max(rate, 1)`` (a one-second burst)."""

    rate: float
    tokens: float = field(init=False)
    updated: datetime | None = None

    def __post_init__(self) -> None:
        self.tokens = self.capacity

    @property
    def capacity(self) -> float:
        return max(self.rate, 1.0)

    def available(self, now: datetime) -> int:
        """Whole tokens available at ``now`` (refilling first)."""
        if self.updated is not None:
            elapsed = max(0.0, (now - self.updated).total_seconds())
            self.tokens = min(self.capacity, self.tokens + elapsed * self.rate)
        self.updated = now
        return int(self.tokens)

    def take(self, count: int) -> None:
        self.tokens -= count

    def give_back(self, count: int) -> None:
        self.tokens = min(self.capacity, self.tokens + count)


class Throttle:
    """Token buckets by endpoint id; endpoints without a rate limit are not limited."""

    def __init__(self) -> None:
        self._buckets: dict[str, TokenBucket] = {}

    def allowance(self, endpoint_id: str, rate: float | None, now: datetime, wanted: int) -> int:
        """How many of ``wanted`` attempts may start now; takes their tokens."""
        if rate is None:
            return wanted
        bucket = self._buckets.get(endpoint_id)
        if bucket is None or bucket.rate != rate:
            bucket = self._buckets[endpoint_id] = TokenBucket(rate)
        granted = min(wanted, bucket.available(now))
        bucket.take(granted)
        return granted

    def give_back(self, endpoint_id: str, unused: int) -> None:
        """Return tokens taken by :meth:`allowance` for attempts that did not start
        (fewer deliveries were due than were allowed)."""
        bucket = self._buckets.get(endpoint_id)
        if bucket is not None and unused > 0:
            bucket.give_back(unused)
