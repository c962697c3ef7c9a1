"""The hub's rate limiter: a shared backend, and what happens when it cannot answer.

When the shared backend (the database, Redis) fails, the limiter **fails open to
per-worker buckets**: the decision is taken by an in-process bucket, a warning is
logged (once per outage, and once when the backend is back) and
``storelink_rate_limit_fallback_total{backend}`` counts every such decision.
For :data:`RETRY_S` seconds after a failure the shared backend is not asked, so
a dead Redis costs no connect attempt per request.

Why not answer 503 instead: the limiter protects the hub and keeps clients fair;
it is not what the request needs to succeed. Refusing every request while Redis
is down would turn an outage of an auxiliary service into an outage of the API
(promise 8: degrade, do not stop). Per-worker buckets keep most of the
protection — one client still cannot exceed N times its burst over N workers, the
limit the hub had before buckets were shared — and a database that is truly
saturated still answers 503 through the routes that need it
(:func:`storelink.api.problems.busy_response`). Never 500.
"""

from __future__ import annotations

from collections.abc import Callable

from prometheus_client import Counter

from storelink.api.ratelimit.backend import Decision, Rate, RateLimitBackend
from storelink.api.ratelimit.backends.memory import MemoryBackend
from storelink.errors import StorageError
from storelink.ops.logging import get_logger
from storelink.ops.metrics import REGISTRY

#: seconds the shared backend is left alone after it failed
RETRY_S = 1.0

FALLBACK = Counter(
    "storelink_rate_limit_fallback_total",
    "Rate-limit decisions taken by per-worker buckets because the shared backend failed",
    ["backend"],
    registry=REGISTRY,
)

_log = get_logger("storelink.api.ratelimit")


class RateLimiter:
    """Token buckets keyed by client id in ``backend``; ``clock`` returns seconds.

    ``take`` never raises for a backend that cannot answer (see the module doc).
    """

    def __init__(self, backend: RateLimitBackend, clock: Callable[[], float]) -> None:
        self.backend = backend
        self._clock = clock
        self._local = backend if isinstance(backend, MemoryBackend) else MemoryBackend()
        self._skip_until = float("-inf")
        self._degraded = False

    @property
    def degraded(self) -> bool:
        """Whether decisions are currently taken per worker because the backend failed."""
        return self._degraded

    async def take(self, key: str, rate: Rate) -> Decision:
        now = self._clock()
        if self.backend is not self._local and now >= self._skip_until:
            try:
                decided = await self.backend.take(key, rate, now)
            except StorageError as exc:
                self._failed(exc, now)
            else:
                if self._degraded:
                    self._degraded = False
                    _log.warning("rate-limit backend answers again", backend=self.backend.name)
                return decided
        if self.backend is not self._local:
            FALLBACK.labels(self.backend.name).inc()
        return await self._local.take(key, rate, now)

    def _failed(self, exc: StorageError, now: float) -> None:
        self._skip_until = now + RETRY_S
        if not self._degraded:
            self._degraded = True
            _log.warning(
                "rate-limit backend unavailable: limits are enforced per worker meanwhile",
                backend=self.backend.name,
                error=exc.context.get("error"),
            )

    async def aclose(self) -> None:
        await self.backend.aclose()
