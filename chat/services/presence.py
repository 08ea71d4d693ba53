"""Who is online, from live connections: online / away / offline plus a custom status text.

Nothing is stored in the database. The store is this process's memory with the in-memory
channel layer (one worker), or Redis when REDIS_URL is set (several workers share it); a
connection that stops sending heartbeats (a crashed worker) counts as gone after
PRESENCE_TIMEOUT seconds. Sockets change it (chat/realtime/presence.py, which also batches
the fan-out); the conversation page reads it.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache

from django.conf import settings

ONLINE, AWAY, OFFLINE = "online", "away", "offline"
STATUSES = (ONLINE, AWAY)
MAX_STATUS_TEXT = 140


@dataclass(frozen=True)
class Presence:
    status: str
    text: str = ""


class LocalPresenceStore:
    def __init__(self, *, timeout: float, clock=time.monotonic) -> None:
        self.timeout = timeout
        self.clock = clock
        self._connections: dict[int, dict[str, float]] = {}
        self._status: dict[int, Presence] = {}
        self._lock = threading.Lock()

    def connect(self, user_id: int, connection: str) -> bool:
        """Register a live connection; True when the user was offline before."""
        with self._lock:
            was_online = bool(self._live(user_id))
            self._connections.setdefault(user_id, {})[connection] = self.clock()
            return not was_online

    def heartbeat(self, user_id: int, connection: str) -> None:
        with self._lock:
            if connection in self._connections.get(user_id, {}):
                self._connections[user_id][connection] = self.clock()

    def disconnect(self, user_id: int, connection: str) -> bool:
        """Forget a connection; True when it was the user's last one (they are now offline)."""
        with self._lock:
            self._connections.get(user_id, {}).pop(connection, None)
            if self._live(user_id):
                return False
            self._connections.pop(user_id, None)
            return True

    def set_status(self, user_id: int, presence: Presence) -> None:
        with self._lock:
            self._status[user_id] = presence

    def get_many(self, user_ids: Iterable[int]) -> dict[int, Presence]:
        with self._lock:
            return {user_id: self._presence(user_id) for user_id in user_ids}

    def _live(self, user_id: int) -> dict[str, float]:
        cutoff = self.clock() - self.timeout
        connections = self._connections.get(user_id, {})
        for connection, seen in list(connections.items()):
            if seen < cutoff:
                del connections[connection]
        return connections

    def _presence(self, user_id: int) -> Presence:
        stored = self._status.get(user_id, Presence(ONLINE))
        return stored if self._live(user_id) else Presence(OFFLINE, stored.text)


class RedisPresenceStore:
    """The same contract in Redis: one sorted set of connection heartbeats per user, one hash of
    statuses. Every call is a handful of O(log n) commands on the user's own keys."""

    def __init__(self, url: str, *, timeout: float, prefix: str = "hobbies:presence") -> None:
        import redis

        self.redis = redis.Redis.from_url(url)
        self.timeout = timeout
        self.prefix = prefix

    def _connections_key(self, user_id: int) -> str:
        return f"{self.prefix}:conn:{user_id}"

    def _live_count(self, pipe, user_id: int, now: float) -> None:
        key = self._connections_key(user_id)
        pipe.zremrangebyscore(key, 0, now - self.timeout)
        pipe.zcard(key)

    def connect(self, user_id: int, connection: str) -> bool:
        now = time.time()
        pipe = self.redis.pipeline()
        self._live_count(pipe, user_id, now)
        pipe.zadd(self._connections_key(user_id), {connection: now})
        pipe.expire(self._connections_key(user_id), int(self.timeout * 4))
        _, before, *_ = pipe.execute()
        return before == 0

    def heartbeat(self, user_id: int, connection: str) -> None:
        key = self._connections_key(user_id)
        pipe = self.redis.pipeline()
        pipe.zadd(key, {connection: time.time()}, xx=True)
        pipe.expire(key, int(self.timeout * 4))
        pipe.execute()

    def disconnect(self, user_id: int, connection: str) -> bool:
        pipe = self.redis.pipeline()
        pipe.zrem(self._connections_key(user_id), connection)
        self._live_count(pipe, user_id, time.time())
        *_, remaining = pipe.execute()
        return remaining == 0

    def set_status(self, user_id: int, presence: Presence) -> None:
        self.redis.hset(f"{self.prefix}:status", str(user_id), json.dumps([presence.status, presence.text]))

    def get_many(self, user_ids: Iterable[int]) -> dict[int, Presence]:
        user_ids = list(user_ids)
        if not user_ids:
            return {}
        now = time.time()
        pipe = self.redis.pipeline()
        for user_id in user_ids:
            pipe.zcount(self._connections_key(user_id), now - self.timeout, "+inf")
        pipe.hmget(f"{self.prefix}:status", [str(user_id) for user_id in user_ids])
        *counts, statuses = pipe.execute()
        result = {}
        for user_id, count, raw in zip(user_ids, counts, statuses, strict=True):
            status, text = json.loads(raw) if raw else (ONLINE, "")
            result[user_id] = Presence(status if count else OFFLINE, text)
        return result


@cache
def presence_store() -> LocalPresenceStore | RedisPresenceStore:
    if settings.REDIS_URL:
        return RedisPresenceStore(settings.REDIS_URL, timeout=settings.PRESENCE_TIMEOUT)
    return LocalPresenceStore(timeout=settings.PRESENCE_TIMEOUT)
