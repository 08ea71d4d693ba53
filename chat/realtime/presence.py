"""Presence fan-out: changes are batched per stream and flushed every PRESENCE_FLUSH_SECONDS.

The store itself (who is connected, with which status) is chat/services/presence.py; this
module turns its changes into `presence` frames, so N members coming online cost O(N)
deliveries per interval, not O(N^2).
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Iterable

from asgiref.sync import sync_to_async
from django.conf import settings

from chat import events
from chat.services.presence import Presence, presence_store
from chat.streams import StreamKey


class PresenceBroadcaster:
    def __init__(self) -> None:
        self.pending: dict[str, dict[int, str]] = defaultdict(dict)
        self.task: asyncio.Task | None = None

    def note(self, user, keys: Iterable[str]) -> None:
        for key in keys:
            self.pending[key][user.pk] = user.username
        loop = asyncio.get_running_loop()
        if self.task is None or self.task.done() or self.task.get_loop() is not loop:
            self.task = loop.create_task(self._flush_later())

    async def _flush_later(self) -> None:
        await asyncio.sleep(settings.PRESENCE_FLUSH_SECONDS)
        await self.flush()

    async def flush(self) -> None:
        batch, self.pending = self.pending, defaultdict(dict)
        if not batch:
            return
        user_ids = {user_id for names in batch.values() for user_id in names}
        statuses = await sync_to_async(presence_store().get_many, thread_sensitive=False)(user_ids)
        for key, names in batch.items():
            users = [
                {"id": user_id, "username": name, "status": statuses[user_id].status, "text": statuses[user_id].text}
                for user_id, name in names.items()
            ]
            frame = {"type": "presence", "stream": key, "users": users}
            await events.asend_group(StreamKey.parse(key).group, "stream.live", frame)


broadcaster = PresenceBroadcaster()


def _store_call(method: str):
    return sync_to_async(getattr(presence_store(), method), thread_sensitive=False)


async def presence_connected(user, connection: str, keys: Iterable[str]) -> None:
    if await _store_call("connect")(user.pk, connection):
        broadcaster.note(user, keys)


async def presence_disconnected(user, connection: str, keys: Iterable[str]) -> None:
    if await _store_call("disconnect")(user.pk, connection):
        broadcaster.note(user, keys)


async def presence_heartbeat(user, connection: str, *, idle: bool = False) -> None:
    await _store_call("heartbeat")(user.pk, connection, idle=idle)


async def presence_idle(user, connection: str, idle: bool, keys: Iterable[str]) -> None:
    """The tab of this connection is idle or in use again; the person's status may change with it."""
    await _store_call("set_idle")(user.pk, connection, idle)
    broadcaster.note(user, keys)


async def presence_set(user, status: Presence, keys: Iterable[str]) -> None:
    await _store_call("set_status")(user.pk, status)
    broadcaster.note(user, keys)
