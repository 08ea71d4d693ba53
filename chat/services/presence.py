"""Who is online, from live connections: online / away / offline plus a custom status text.

Nothing is stored in the database. The store is this process's memory with the in-memory
channel layer (one worker), or Redis when REDIS_URL is set (several workers share it); a
connection that stops sending heartbeats (a crashed worker) counts as gone after
PRESENCE_TIMEOUT seconds, and a status text is forgotten PRESENCE_STATUS_TTL seconds after it
was set or its person was last seen. Sockets change it (chat/realtime/presence.py, which also
batches the fan-out); the conversation page reads it. A status text that is not Unicode is
refused (NotText). While Redis is down, presence is lost, never the page or the socket: writes
are dropped and everyone reads as offline (logged once, chat/services/redis_health.py); a
connection's next heartbeat puts it back.

A person's status follows their connections and their choice: offline with no live connection;
away when they chose Away, or when every live connection of theirs is idle (the tab reports no
input for a while, or hidden: `set_idle`); online otherwise. Their choice and text outlive their
connections (reloads, switching pages), and `own_status` gives them back to the page's form.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache

from django.conf import settings

from chat.services import redis_health
from chat.services.text import NotText, check_text

ONLINE, AWAY, OFFLINE = "online", "away", "offline"
STATUSES = (ONLINE, AWAY)
MAX_STATUS_TEXT = 140


@dataclass(frozen=True)
class Presence:
    status: str
    text: str = ""


def _shown(text: str) -> str:
    """A stored text as the page shows it: one that is not Unicode (kept before it was refused) is dropped."""
    try:
        return check_text(text)
    except NotText:
        return ""


class LocalPresenceStore:
    def __init__(self, *, timeout: float, status_ttl: float = 86400, clock=time.monotonic) -> None:
        self.timeout = timeout
        self.status_ttl = status_ttl
        self.clock = clock
        self._connections: dict[int, dict[str, float]] = {}
        self._status: dict[int, tuple[Presence, float]] = {}  # user -> (status, forgotten after)
        self._idle: dict[int, set[str]] = {}  # user -> their connections that report being idle
        self._swept = clock()
        self._lock = threading.Lock()

    def connect(self, user_id: int, connection: str) -> bool:
        """Register a live connection; True when the user was offline before."""
        with self._lock:
            was_online = bool(self._live(user_id))
            self._connections.setdefault(user_id, {})[connection] = self.clock()
            self._idle.get(user_id, set()).discard(connection)  # a new connection starts in use
            self._touch(user_id)
            self._sweep()
            return not was_online

    def heartbeat(self, user_id: int, connection: str, *, idle: bool = False) -> None:
        with self._lock:
            self._connections.setdefault(user_id, {})[connection] = self.clock()
            self._mark_idle(user_id, connection, idle)
            self._touch(user_id)

    def set_idle(self, user_id: int, connection: str, idle: bool) -> None:
        """The connection's tab is idle (no input for a while, or hidden), or in use again."""
        with self._lock:
            if connection in self._live(user_id):
                self._mark_idle(user_id, connection, idle)

    def _mark_idle(self, user_id: int, connection: str, idle: bool) -> None:
        if idle:
            self._idle.setdefault(user_id, set()).add(connection)
        elif user_id in self._idle:
            self._idle[user_id].discard(connection)

    def disconnect(self, user_id: int, connection: str) -> bool:
        """Forget a connection; True when it was the user's last one (they are now offline)."""
        with self._lock:
            self._connections.get(user_id, {}).pop(connection, None)
            self._idle.get(user_id, set()).discard(connection)
            if self._live(user_id):
                return False
            self._connections.pop(user_id, None)
            return True

    def set_status(self, user_id: int, presence: Presence) -> None:
        check_text(presence.text, "status text")
        with self._lock:
            self._status[user_id] = (presence, self.clock() + self.status_ttl)
            self._sweep()

    def get_many(self, user_ids: Iterable[int]) -> dict[int, Presence]:
        with self._lock:
            return {user_id: self._presence(user_id) for user_id in user_ids}

    def own_status(self, user_id: int) -> Presence:
        """What the person chose (online or away) and their text, whatever their connections."""
        with self._lock:
            return self._chosen(user_id)

    def _live(self, user_id: int) -> dict[str, float]:
        cutoff = self.clock() - self.timeout
        connections = self._connections.get(user_id, {})
        for connection, seen in list(connections.items()):
            if seen < cutoff:
                del connections[connection]
        return connections

    def _touch(self, user_id: int) -> None:
        if user_id in self._status:
            self._status[user_id] = (self._status[user_id][0], self.clock() + self.status_ttl)

    def _sweep(self) -> None:
        # At most once per timeout: forget people long gone (a crashed worker never said so).
        now = self.clock()
        if now - self._swept < self.timeout:
            return
        self._swept = now
        for user_id in [user_id for user_id in self._connections if not self._live(user_id)]:
            del self._connections[user_id]
        self._idle = {
            user_id: idle & set(self._connections[user_id])
            for user_id, idle in self._idle.items()
            if user_id in self._connections
        }
        self._status = {user_id: kept for user_id, kept in self._status.items() if kept[1] > now}

    def _chosen(self, user_id: int) -> Presence:
        stored, until = self._status.get(user_id, (Presence(ONLINE), 0.0))
        if until <= self.clock():
            stored = Presence(ONLINE)
        return Presence(stored.status, _shown(stored.text))

    def _presence(self, user_id: int) -> Presence:
        chosen = self._chosen(user_id)
        live = self._live(user_id)
        active = len(live) > len(self._idle.get(user_id, set()) & set(live))
        return Presence(effective_status(chosen.status, live=len(live), active=int(active)), chosen.text)


def effective_status(chosen: str, *, live: int, active: int) -> str:
    """Offline without a live connection; away by choice or when every live connection is idle."""
    if not live:
        return OFFLINE
    return AWAY if chosen == AWAY or not active else ONLINE


class RedisPresenceStore:
    """The same contract in Redis: one sorted set of connection heartbeats per user, one expiring
    key per user's status. Every call is a handful of O(log n) commands on the user's own keys."""

    def __init__(
        self, url: str, *, timeout: float, status_ttl: float = 86400, prefix: str = "hobbies:presence"
    ) -> None:
        self.redis = redis_health.client(url)
        self.timeout = timeout
        self.status_ttl_ms = max(1, int(status_ttl * 1000))
        self.prefix = prefix
        self.outage = redis_health.Outage("presence")

    def _connections_key(self, user_id: int) -> str:
        return f"{self.prefix}:conn:{user_id}"

    def _active_key(self, user_id: int) -> str:
        """The connections in use (not idle), scored by heartbeat like the connections' own set."""
        return f"{self.prefix}:active:{user_id}"

    def _status_key(self, user_id: int) -> str:
        return f"{self.prefix}:status:{user_id}"

    def _live_count(self, pipe, user_id: int, now: float) -> None:
        key = self._connections_key(user_id)
        pipe.zremrangebyscore(key, 0, now - self.timeout)
        pipe.zcard(key)

    def _execute(self, pipe, fallback):
        """Run a pipeline, or give `fallback` while Redis cannot be reached."""
        if not self.outage.should_try():
            return fallback
        try:
            result = pipe.execute()
        except redis_health.failures() as error:
            self.outage.failed(error)
            return fallback
        self.outage.succeeded()
        return result

    def _seen(self, pipe, user_id: int, connection: str, *, idle: bool = False) -> None:
        now = time.time()
        pipe.zadd(self._connections_key(user_id), {connection: now})
        pipe.expire(self._connections_key(user_id), int(self.timeout * 4))
        self._mark_idle(pipe, user_id, connection, idle, now)
        pipe.pexpire(self._status_key(user_id), self.status_ttl_ms)

    def _mark_idle(self, pipe, user_id: int, connection: str, idle: bool, now: float) -> None:
        if idle:
            pipe.zrem(self._active_key(user_id), connection)
        else:
            pipe.zadd(self._active_key(user_id), {connection: now})
            pipe.expire(self._active_key(user_id), int(self.timeout * 4))

    def connect(self, user_id: int, connection: str) -> bool:
        pipe = self.redis.pipeline()
        self._live_count(pipe, user_id, time.time())
        self._seen(pipe, user_id, connection)
        _, before, *_ = self._execute(pipe, [None, 1])
        return before == 0

    def heartbeat(self, user_id: int, connection: str, *, idle: bool = False) -> None:
        # Added, not only updated: after a Redis restart a live connection comes back with it.
        pipe = self.redis.pipeline()
        self._seen(pipe, user_id, connection, idle=idle)
        self._execute(pipe, None)

    def set_idle(self, user_id: int, connection: str, idle: bool) -> None:
        pipe = self.redis.pipeline()
        self._mark_idle(pipe, user_id, connection, idle, time.time())
        self._execute(pipe, None)

    def disconnect(self, user_id: int, connection: str) -> bool:
        pipe = self.redis.pipeline()
        pipe.zrem(self._connections_key(user_id), connection)
        pipe.zrem(self._active_key(user_id), connection)
        self._live_count(pipe, user_id, time.time())
        *_, remaining = self._execute(pipe, [1])
        return remaining == 0

    def set_status(self, user_id: int, presence: Presence) -> None:
        check_text(presence.text, "status text")
        pipe = self.redis.pipeline()
        pipe.set(self._status_key(user_id), json.dumps([presence.status, presence.text]), px=self.status_ttl_ms)
        self._execute(pipe, None)

    def get_many(self, user_ids: Iterable[int]) -> dict[int, Presence]:
        user_ids = list(user_ids)
        if not user_ids:
            return {}
        now = time.time()
        pipe = self.redis.pipeline()
        for user_id in user_ids:
            pipe.zcount(self._connections_key(user_id), now - self.timeout, "+inf")
            pipe.zcount(self._active_key(user_id), now - self.timeout, "+inf")
        pipe.mget([self._status_key(user_id) for user_id in user_ids])
        *counts, statuses = self._execute(pipe, [0] * (2 * len(user_ids)) + [[None] * len(user_ids)])
        result = {}
        for index, (user_id, raw) in enumerate(zip(user_ids, statuses, strict=True)):
            chosen = self._decoded(raw)
            live, active = counts[2 * index], counts[2 * index + 1]
            result[user_id] = Presence(effective_status(chosen.status, live=live, active=active), chosen.text)
        return result

    def own_status(self, user_id: int) -> Presence:
        pipe = self.redis.pipeline()
        pipe.get(self._status_key(user_id))
        [raw] = self._execute(pipe, [None])
        return self._decoded(raw)

    @staticmethod
    def _decoded(raw) -> Presence:
        status, text = json.loads(raw) if raw else (ONLINE, "")
        return Presence(status, _shown(text))


@cache
def presence_store() -> LocalPresenceStore | RedisPresenceStore:
    if settings.REDIS_URL:
        return RedisPresenceStore(
            settings.REDIS_URL, timeout=settings.PRESENCE_TIMEOUT, status_ttl=settings.PRESENCE_STATUS_TTL
        )
    return LocalPresenceStore(timeout=settings.PRESENCE_TIMEOUT, status_ttl=settings.PRESENCE_STATUS_TTL)
