"""A token bucket per key (per user for sends): `rate` tokens a second, at most `burst` saved up.

Kept in the worker's memory: cheap, and exact for a user whose tabs share a worker; with N
workers a user with tabs on several of them gets up to N times the rate (see docs/protocol.md).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable


class TokenBucket:
    def __init__(self, *, rate: float, burst: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.rate = rate
        self.burst = burst
        self.clock = clock
        self._buckets: dict[object, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def allow(self, key: object) -> bool:
        """Take one token for `key`; False (and nothing taken) when the bucket is empty."""
        now = self.clock()
        with self._lock:
            tokens, last = self._buckets.get(key, (float(self.burst), now))
            tokens = min(float(self.burst), tokens + (now - last) * self.rate)
            if tokens < 1:
                self._buckets[key] = (tokens, now)
                return False
            self._buckets[key] = (tokens - 1, now)
            if len(self._buckets) > 100_000:
                self._forget_full_buckets(now)
            return True

    def retry_after(self, key: object) -> float:
        tokens, _ = self._buckets.get(key, (float(self.burst), 0.0))
        return max(0.0, (1 - tokens) / self.rate)

    def _forget_full_buckets(self, now: float) -> None:
        # A bucket that has refilled completely carries no information: drop it to bound memory.
        full_after = self.burst / self.rate
        self._buckets = {key: value for key, value in self._buckets.items() if now - value[1] < full_after}
