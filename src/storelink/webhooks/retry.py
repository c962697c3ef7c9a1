"""When the next attempt happens after a failed one.

By default immediately, then 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h (delays
before attempts 1…8), each with +/- ``jitter`` random spread; a receiver's
``Retry-After`` (on 429 and 503) replaces the scheduled delay. After the last
scheduled attempt the delivery is dead-lettered.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import datetime
from email.utils import parsedate_to_datetime

from storelink.config.sections import WebhookSettings

#: a Retry-After longer than this is clamped to it
MAX_RETRY_AFTER_S = 86_400.0
RETRY_AFTER_STATUSES = frozenset({429, 503})


@dataclass(frozen=True)
class RetryPolicy:
    schedule_s: tuple[float, ...] = (0, 5, 300, 1800, 7200, 18000, 36000, 36000)
    jitter: float = 0.1
    rng: random.Random = field(default_factory=random.Random, compare=False)

    @classmethod
    def from_settings(
        cls, settings: WebhookSettings, rng: random.Random | None = None
    ) -> RetryPolicy:
        return cls(
            schedule_s=tuple(settings.retry_schedule_s),
            jitter=settings.jitter,
            rng=rng or random.Random(),
        )

    @property
    def first_delay_s(self) -> float:
        return self.schedule_s[0] if self.schedule_s else 0.0

    def delay_after(self, attempt: int, retry_after: float | None = None) -> float | None:
        """Seconds from now until the attempt after failed attempt number ``attempt``
        (1-based); ``None`` when the schedule is exhausted."""
        if attempt >= len(self.schedule_s):
            return None
        if retry_after is not None:
            return min(max(retry_after, 0.0), MAX_RETRY_AFTER_S)
        base = self.schedule_s[attempt]
        return max(0.0, base * (1 + self.rng.uniform(-self.jitter, self.jitter)))


def parse_retry_after(value: str | None, now: datetime) -> float | None:
    """``Retry-After`` as seconds from ``now`` (delta-seconds or an HTTP date), None if bad."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        return None
    return max(0.0, (when - now).total_seconds())
