"""How a consumer spaces its retries: exponential backoff with jitter."""

from __future__ import annotations

import random
from dataclasses import dataclass, field


@dataclass(frozen=True)
class RetryPolicy:
    """``max_attempts`` deliveries in all; retry n waits ``backoff_s * multiplier**(n-1)``.

    Jitter spreads the wait by ±``jitter`` (a fraction) so consumers that failed
    together do not retry together.
    """

    max_attempts: int = 5
    backoff_s: float = 1.0
    multiplier: float = 2.0
    max_backoff_s: float = 300.0
    jitter: float = 0.2
    rng: random.Random = field(default_factory=random.Random, compare=False, repr=False)

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        if not 0 <= self.jitter < 1:
            raise ValueError("jitter must be in [0, 1)")

    def delay(self, attempt: int) -> float:
        """Seconds to wait after failed delivery number ``attempt`` (1-based)."""
        base = min(self.max_backoff_s, self.backoff_s * self.multiplier ** max(0, attempt - 1))
        spread = base * self.jitter
        return max(0.0, base + self.rng.uniform(-spread, spread))
