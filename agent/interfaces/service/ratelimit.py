"""Per-key rate limits: requests per minute and runs in progress at once.

The request rate is a moving window kept by the ``limits`` library, in process memory by
default and in Redis when ``TILLER_REDIS_URL`` is set (so every service process shares it). In
memory the window is the library's synchronous one, checked on the event loop: it is a few list
operations with nothing to wait for, while its asyncio twin sends every key's expiry sweep to a
worker thread — ~10 thread hops per run under load, queued in the executor before the runtime's
own database work (docs/BENCHMARKS.md §9, stop 26).
Concurrent runs are counted as leased slots: an in-process counter, or a Redis sorted set whose
members expire — a process that dies mid-run frees its slots when their lease ends.
"""

from __future__ import annotations

import math
import time
import uuid
from collections import Counter
from collections.abc import Callable
from typing import Any

import limits.storage
import limits.strategies
import redis.asyncio
from limits import RateLimitItemPerMinute
from limits.aio.storage import RedisStorage
from limits.aio.strategies import MovingWindowRateLimiter

from agent.interfaces.service.errors import RateLimited
from agent.persistence.keys import Principal

_RUN_LEASE_S = 900  # a run slot outlives any run (deadline 120 s by default) yet frees a dead process's slots
_RUN_RETRY_AFTER_S = 5  # a hint: runs take seconds, not minutes

# Drop expired slots, then take one if fewer than the limit are held. Atomic in Redis.
_ACQUIRE = """
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
if redis.call('ZCARD', KEYS[1]) < tonumber(ARGV[2]) then
  redis.call('ZADD', KEYS[1], ARGV[3], ARGV[4])
  redis.call('EXPIRE', KEYS[1], ARGV[5])
  return 1
end
return 0
"""


class RateLimits:
    """Checks a principal's request rate and run slots; ``on_refusal(limit)`` counts refusals."""

    def __init__(
        self,
        *,
        rate_per_minute: int,
        max_concurrent_runs: int,
        redis_url: str | None = None,
        on_refusal: Callable[[str], None] = lambda _limit: None,
    ) -> None:
        self.rate_per_minute = rate_per_minute
        self.max_concurrent_runs = max_concurrent_runs
        self._on_refusal = on_refusal
        self._redis: Any = None
        self._limiter: MovingWindowRateLimiter | None = None
        self._local: limits.strategies.MovingWindowRateLimiter | None = None
        if redis_url:
            self._redis = redis.asyncio.Redis.from_url(redis_url)
            # One connection pool for both, closed with our client in ``close``.
            storage = RedisStorage(
                "async+" + redis_url,
                implementation="redispy",
                key_prefix="tiller-rate",
                wrap_exceptions=True,
                connection_pool=self._redis.connection_pool,
            )
            self._acquire = self._redis.register_script(_ACQUIRE)
            self._limiter = MovingWindowRateLimiter(storage)
        else:
            self._local = limits.strategies.MovingWindowRateLimiter(limits.storage.MemoryStorage())
        self._running: Counter[str] = Counter()

    @property
    def backend(self) -> str:
        """Where the counts live: ``redis`` (shared by every process) or ``memory`` (this process)."""
        return "redis" if self._redis is not None else "memory"

    async def ping(self) -> str:
        """``ok`` when Redis answers (or no Redis is used), else what went wrong."""
        if self._redis is None:
            return "ok"
        try:
            await self._redis.ping()
        except Exception as exc:  # readiness reports any failure as data
            return f"error: {type(exc).__name__}: {str(exc)[:200]}"
        return "ok"

    async def close(self) -> None:
        """Close the Redis client, if one is used."""
        if self._redis is not None:
            await self._redis.aclose()

    async def hit(self, who: Principal) -> None:
        """Count one request; ``RateLimited`` past the key's requests per minute."""
        per_minute = who.rate_per_minute or self.rate_per_minute
        item = RateLimitItemPerMinute(per_minute)
        if self._local is not None:
            if self._local.hit(item, who.key_id):
                return
            stats = self._local.get_window_stats(item, who.key_id)
        else:
            assert self._limiter is not None
            if await self._limiter.hit(item, who.key_id):
                return
            stats = await self._limiter.get_window_stats(item, who.key_id)
        self._on_refusal("requests_per_minute")
        raise RateLimited(
            f"rate limit: at most {per_minute} requests per minute with this API key; retry later",
            retry_after=math.ceil(stats.reset_time - time.time()),
        )

    async def take_run_slot(self, who: Principal) -> str:
        """Take one of the key's concurrent-run slots; the token gives it back when the run ends."""
        limit = who.max_concurrent_runs or self.max_concurrent_runs
        token = uuid.uuid4().hex
        if not await self._take(who.key_id, limit, token):
            self._on_refusal("concurrent_runs")
            raise RateLimited(
                f"rate limit: at most {limit} runs at once with this API key; wait for one to finish",
                retry_after=_RUN_RETRY_AFTER_S,
                code="too_many_runs",
            )
        return token

    async def give_back_run_slot(self, who: Principal, token: str) -> None:
        """Give back the run slot ``token`` holds (the run ended)."""
        if self._redis is None:
            self._running[who.key_id] -= 1
            return
        await self._redis.zrem(_runs_key(who.key_id), token)

    async def _take(self, key_id: str, limit: int, token: str) -> bool:
        if self._redis is None:
            if self._running[key_id] >= limit:
                return False
            self._running[key_id] += 1
            return True
        now = time.time()
        args = [now, limit, now + _RUN_LEASE_S, token, _RUN_LEASE_S]
        return bool(await self._acquire(keys=[_runs_key(key_id)], args=args))


def _runs_key(key_id: str) -> str:
    return f"tiller-runs:{key_id}"
