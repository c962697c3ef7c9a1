"""Per-client token buckets, shared by every hub worker.

Each client has a bucket of ``burst`` tokens refilled at ``per_s`` tokens per
second; a request takes one token or is refused (429 with ``Retry-After`` and the
``RateLimit-*`` headers) with the time until the next token. Where the buckets
live is a backend (``api.rate_limit_backend``):

* ``memory`` — in the process: exact for one hub process (the embedded default
  on SQLite); with N workers each enforces the limit alone.
* ``database`` — one atomic upsert per decision in the hub's database (the
  default on PostgreSQL): every worker spends from the same bucket.
* ``redis`` — one atomic Lua script per decision (the default when
  ``api.redis_url`` is set).

A shared backend that cannot answer does not turn into errors: see
:mod:`storelink.api.ratelimit.limiter`.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy.ext.asyncio import AsyncEngine

from storelink.api.ratelimit.backend import Decision, Rate, RateLimitBackend
from storelink.api.ratelimit.backends import backend_for
from storelink.api.ratelimit.limiter import RateLimiter
from storelink.config.sections import ApiSettings


def create_limiter(
    settings: ApiSettings, engine: AsyncEngine, clock: Callable[[], float]
) -> RateLimiter:
    """The limiter ``settings`` ask for, deciding on ``clock`` (seconds)."""
    return RateLimiter(backend_for(settings, engine), clock)


__all__ = ["Decision", "Rate", "RateLimitBackend", "RateLimiter", "create_limiter"]
