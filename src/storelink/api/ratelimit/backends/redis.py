"""Buckets in Redis (``api.redis_url``), shared by every hub worker.

Each decision is one Lua script, which Redis runs atomically (no other command
runs between its read and its write), so two workers can never both spend the
last token. A bucket is a hash ``{tokens, updated}`` under
``<api.redis_prefix>:ratelimit:<client id>`` that expires once it would be full
again anyway (plus a margin), so idle clients cost no memory.

Redis down or slower than ``api.redis_timeout_s`` raises
:class:`~storelink.errors.StorageError` at once (one reconnect, no retry
schedule): the limiter then decides in the process until Redis answers again.
"""

from __future__ import annotations

import asyncio
import math

import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from storelink.api.ratelimit.backend import Decision, Rate, decision
from storelink.errors import StorageError

#: the arithmetic of :func:`storelink.api.ratelimit.backend.refill`, in Redis
_TAKE = """
local per_s, burst, now = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local state = redis.call('HMGET', KEYS[1], 'tokens', 'updated')
local tokens, updated = tonumber(state[1]), tonumber(state[2])
if tokens == nil or updated == nil then
  tokens, updated = burst, now
end
tokens = math.min(burst, tokens + math.max(0, now - updated) * per_s)
local granted = 0
if tokens >= 1 then
  tokens, granted = tokens - 1, 1
end
redis.call('HSET', KEYS[1], 'tokens', string.format('%.17g', tokens),
  'updated', string.format('%.17g', math.max(updated, now)))
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[4]))
return {granted, string.format('%.17g', tokens)}
"""

#: an idle bucket outlives the time it takes to refill by this much (clock skew, fake clocks)
_IDLE_MARGIN_S = 60.0


class RedisBackend:
    name = "redis"

    def __init__(self, url: str, *, prefix: str, timeout_s: float) -> None:
        self._client = aioredis.Redis.from_url(
            url,
            socket_timeout=timeout_s,
            socket_connect_timeout=timeout_s,
            # one immediate reconnect (a pooled connection Redis closed), never a schedule:
            # a request must not wait for Redis to come back
            retry=Retry(NoBackoff(), 1),
        )
        self._script = self._client.register_script(_TAKE)
        self._prefix = f"{prefix}:ratelimit:"
        self._timeout_s = timeout_s

    async def take(self, key: str, rate: Rate, now: float) -> Decision:
        idle_ms = math.ceil((rate.burst / rate.per_s + _IDLE_MARGIN_S) * 1000)
        args = [repr(float(rate.per_s)), str(rate.burst), repr(now), str(idle_ms)]
        try:
            async with asyncio.timeout(self._timeout_s):
                granted, tokens = await self._script(keys=[self._prefix + key], args=args)
        except (RedisConnectionError, RedisTimeoutError, TimeoutError, OSError) as exc:
            raise StorageError(
                "the rate-limit buckets in Redis cannot be reached",
                backend=self.name,
                error=type(exc).__name__,
            ) from exc
        return decision(rate, bool(int(granted)), float(tokens))

    async def aclose(self) -> None:
        await self._client.aclose()
