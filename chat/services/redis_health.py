"""Stores kept in Redis when REDIS_URL is set (send rate, presence) and what they do while it is down.

A Redis that is down must cost a feature, not the chat: each store falls back (the send rate to
this process's own limiter, presence to "offline") and says so once in the log, tries Redis again
at most every RETRY_SECONDS instead of on every call, and says once that it is back.
"""

from __future__ import annotations

import logging
import threading
import time

log = logging.getLogger(__name__)

# Between two attempts at a Redis that failed, calls go straight to the fallback.
RETRY_SECONDS = 1.0
# A command waits this long for a connection or an answer: a call falls back within a second or two.
TIMEOUT_SECONDS = 1.0


def client(url: str):
    """A Redis client that fails fast: short timeouts, and one immediate retry (a connection the
    server closed by restarting is reopened once), not redis-py's ten retries with back-off."""
    import redis
    from redis.backoff import NoBackoff
    from redis.retry import Retry

    return redis.Redis.from_url(
        url, socket_connect_timeout=TIMEOUT_SECONDS, socket_timeout=TIMEOUT_SECONDS, retry=Retry(NoBackoff(), 1)
    )


def failures() -> tuple[type[BaseException], ...]:
    import redis

    return (redis.RedisError, OSError)


class Outage:
    """Whether a Redis-backed store is in fallback, logged once when it starts and once when it ends."""

    def __init__(self, event: str) -> None:
        self.event = event  # e.g. "rate_limit": logs event=rate_limit_fallback / event=rate_limit_restored
        self.since: float | None = None
        self.last_attempt = 0.0
        self._lock = threading.Lock()

    def should_try(self) -> bool:
        """False while a recent attempt failed: go straight to the fallback."""
        with self._lock:
            if self.since is None:
                return True
            now = time.monotonic()
            if now - self.last_attempt < RETRY_SECONDS:
                return False
            self.last_attempt = now
            return True

    def failed(self, error: BaseException) -> None:
        with self._lock:
            self.last_attempt = time.monotonic()
            if self.since is not None:
                return
            self.since = self.last_attempt
        log.warning("event=%s_fallback error=%r", self.event, error)

    def succeeded(self) -> None:
        if self.since is None:
            return
        with self._lock:
            since, self.since = self.since, None
        if since is not None:
            log.warning("event=%s_restored after=%.1fs", self.event, time.monotonic() - since)
