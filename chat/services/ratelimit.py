"""A token bucket per key (per user for sends): `rate` tokens a second, at most `burst` saved up.

In the worker's memory on one process; in Redis when REDIS_URL is set, so a person whose tabs
are spread over several workers still gets the one rate, not one per worker. While Redis is
down each process limits with its own bucket (chat/services/redis_health.py): sends go on.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from functools import cache

from django.conf import settings

from chat.services import redis_health


class TokenBucket:
    def __init__(self, *, rate: float, burst: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.rate = rate
        self.burst = burst
        self.clock = clock
        self._buckets: dict[object, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def take(self, key: object) -> float:
        """Take one token for `key`: 0 when taken, else the seconds until one is there (nothing taken)."""
        now = self.clock()
        with self._lock:
            tokens, last = self._buckets.get(key, (float(self.burst), now))
            tokens = min(float(self.burst), tokens + (now - last) * self.rate)
            if tokens < 1:
                self._buckets[key] = (tokens, now)
                return (1 - tokens) / self.rate
            self._buckets[key] = (tokens - 1, now)
            if len(self._buckets) > 100_000:
                self._forget_full_buckets(now)
            return 0.0

    def _forget_full_buckets(self, now: float) -> None:
        # A bucket that has refilled completely carries no information: drop it to bound memory.
        full_after = self.burst / self.rate
        self._buckets = {key: value for key, value in self._buckets.items() if now - value[1] < full_after}


# One round trip, atomic: refill from the time passed (Redis's own clock, the same for every
# worker), take a token if there is one, and let a bucket expire once it would be full again.
_TAKE = """
local rate, burst = tonumber(ARGV[1]), tonumber(ARGV[2])
local clock = redis.call('TIME')
local now = tonumber(clock[1]) + tonumber(clock[2]) / 1000000
local saved = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(saved[1]) or burst
local at = tonumber(saved[2]) or now
tokens = math.min(burst, tokens + math.max(0, now - at) * rate)
local wait = 0
if tokens < 1 then
  wait = (1 - tokens) / rate
else
  tokens = tokens - 1
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', tostring(now))
redis.call('PEXPIRE', KEYS[1], math.ceil(burst / rate * 1000) + 1000)
return tostring(wait)
"""


class RedisTokenBucket:
    """The same contract, kept in Redis for every worker at once; this process's own bucket
    while Redis cannot be reached (logged once: event=rate_limit_fallback, event=rate_limit_restored)."""

    def __init__(self, url: str, *, rate: float, burst: int, prefix: str = "hobbies:rate") -> None:
        self.rate = rate
        self.burst = burst
        self.prefix = prefix
        self._take = redis_health.client(url).register_script(_TAKE)
        self.local = TokenBucket(rate=rate, burst=burst)
        self.outage = redis_health.Outage("rate_limit")

    def take(self, key: object) -> float:
        if self.outage.should_try():
            try:
                wait = float(self._take(keys=[f"{self.prefix}:{key}"], args=[self.rate, self.burst]))
            except redis_health.failures() as error:
                self.outage.failed(error)
            else:
                self.outage.succeeded()
                return wait
        return self.local.take(key)


@cache
def send_rate() -> TokenBucket | RedisTokenBucket:
    rate, burst = settings.MESSAGE_RATE_PER_SECOND, settings.MESSAGE_RATE_BURST
    if settings.REDIS_URL:
        return RedisTokenBucket(settings.REDIS_URL, rate=rate, burst=burst, prefix="hobbies:rate:send")
    return TokenBucket(rate=rate, burst=burst)
