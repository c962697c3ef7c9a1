"""Exponential backoff with jitter, for anything that retries an unreachable peer."""

from __future__ import annotations

import random
from dataclasses import dataclass, field


@dataclass
class Backoff:
    """Delays ``base_s * factor**n`` capped at ``cap_s``, each randomly shortened by up to
    ``jitter`` (a fraction) so that many stores coming back at once do not retry in step::

        backoff = Backoff(base_s=0.5, cap_s=30)
        await asyncio.sleep(backoff.next_delay())   # after a failure
        backoff.reset()                             # after a success
    """

    base_s: float = 0.5
    factor: float = 2.0
    cap_s: float = 60.0
    jitter: float = 0.5
    rng: random.Random = field(default_factory=random.Random)
    failures: int = 0

    def next_delay(self) -> float:
        """Count one more failure and return how long to wait before the next try."""
        ceiling = min(self.cap_s, self.base_s * self.factor**self.failures)
        self.failures += 1
        return ceiling * (1 - self.jitter * self.rng.random())

    def reset(self) -> None:
        self.failures = 0
