"""Buckets in this process: exact for one hub process, per worker when there are several.

With N workers each enforces the limit alone, so a client spreading its requests
over them gets up to N times its burst. That is the embedded default (one
process on SQLite) and the fallback of the shared backends while they cannot
answer. It never fails.
"""

from __future__ import annotations

from storelink.api.ratelimit.backend import Decision, Rate, decision, refill


class MemoryBackend:
    name = "memory"

    def __init__(self) -> None:
        #: key -> (tokens, updated)
        self._buckets: dict[str, tuple[float, float]] = {}

    async def take(self, key: str, rate: Rate, now: float) -> Decision:
        # no await between reading and writing the bucket: atomic within the event loop
        tokens, updated = self._buckets.get(key, (float(rate.burst), now))
        step = refill(tokens, updated, now, rate)
        self._buckets[key] = (step.tokens, step.updated)
        return decision(rate, step.allowed, step.tokens)

    async def aclose(self) -> None:
        self._buckets.clear()
