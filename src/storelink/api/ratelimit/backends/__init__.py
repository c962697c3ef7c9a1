"""Rate-limit backends: ``memory`` (this process), ``database`` (the hub's), ``redis``."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncEngine

from storelink.api.ratelimit.backend import RateLimitBackend
from storelink.api.ratelimit.backends.database import DatabaseBackend
from storelink.api.ratelimit.backends.memory import MemoryBackend
from storelink.config.sections import ApiSettings
from storelink.errors import ConfigError


def backend_for(settings: ApiSettings, engine: AsyncEngine) -> RateLimitBackend:
    """The backend ``api.rate_limit_backend`` names; ``auto`` is Redis when ``api.redis_url``
    is set, else the database on PostgreSQL (shared by workers) and memory on SQLite (one
    process, where a write per request would only queue behind the writer turn)."""
    chosen = settings.rate_limit_backend
    if chosen == "auto":
        if settings.redis_url is not None:
            chosen = "redis"
        elif engine.dialect.name == "postgresql":
            chosen = "database"
        else:
            chosen = "memory"
    if chosen == "memory":
        return MemoryBackend()
    if chosen == "database":
        return DatabaseBackend(engine)
    if settings.redis_url is None:
        raise ConfigError('api.redis_url is required by api.rate_limit_backend = "redis"')
    # imported here: only hubs configured for Redis load its client
    from storelink.api.ratelimit.backends.redis import RedisBackend

    return RedisBackend(
        settings.redis_url, prefix=settings.redis_prefix, timeout_s=settings.redis_timeout_s
    )


__all__ = ["DatabaseBackend", "MemoryBackend", "backend_for"]
