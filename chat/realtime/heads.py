"""Heads: every socket learns the latest seq of its streams, every WS_HEADS_SECONDS and as soon as
the channel layer is back after an outage (docs/protocol.md, `heads`).

A publication can be lost without the socket seeing a gap: Redis was down when the change
committed (event=publish_failed), or restarted and forgot the hub's groups, and nothing newer came
in that stream since. So each process reads the latest seq of every stream its hub follows (one
query) and hands them to all its sockets as a `stream.heads` delivery; each socket first sends
from the database what it missed, then a `heads` frame, with which a client can check what it
has and `sync` what it lacks (static/js/messaging.js does).

Most of the time a head read from the database is simply still on its way: committed, published,
not yet handed out by the hub (a busy room is always a few messages behind its commits). Sockets
told such a head would each read the database for what arrives live a moment later: at 1000
members that was a thousand replays every WS_HEADS_SECONDS, enough to push an already busy process
seconds behind (docs/performance.md). So the heads wait up to ARRIVAL_GRACE_SECONDS for the hub to
have handed out every head it read, and the hub hands out one thing at a time: a socket then
finds itself behind only when a publication was really lost.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import weakref

from channels.db import database_sync_to_async
from django.conf import settings

from chat.realtime.hub import Hub
from chat.services import reads
from chat.streams import stream_of_group

log = logging.getLogger(__name__)

# How long heads wait for what the database has to arrive live, and how often they look.
ARRIVAL_GRACE_SECONDS = 2.0
ARRIVAL_POLL_SECONDS = 0.05


class Heads:
    def __init__(self, hub: Hub) -> None:
        self.hub = hub
        self.task: asyncio.Task | None = None
        self.now = asyncio.Event()
        self.recovered = False
        hub.on_recovery.append(self._recovered)

    def ensure_running(self) -> None:
        if self.task is None or self.task.done():
            self.task = asyncio.get_running_loop().create_task(self._run())

    def _recovered(self) -> None:
        self.recovered = True
        self.now.set()
        self.ensure_running()

    async def _run(self) -> None:
        while self.hub.groups:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.now.wait(), settings.WS_HEADS_SECONDS)
            self.now.clear()
            recovered, self.recovered = self.recovered, False
            try:
                await self.announce(recovered=recovered)
            except Exception:
                log.exception("event=heads_failed")

    async def announce(self, *, recovered: bool = False) -> None:
        """Read the heads of every stream followed here, after the groups were joined (so what
        commits later arrives live), and hand them to every socket of this process."""
        keys = [key for group in list(self.hub.groups) if (key := stream_of_group(group)) is not None]
        heads = await database_sync_to_async(reads.last_seqs)(keys) if keys else {}
        if not recovered:  # (after an outage, what was lost will not arrive)
            await self.arrived(heads)
        await self.hub.broadcast({"type": "stream.heads", "heads": heads, "recovered": recovered})

    async def arrived(self, heads: dict[str, int]) -> bool:
        """Wait until the hub has handed out every one of `heads`, at most ARRIVAL_GRACE_SECONDS."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + ARRIVAL_GRACE_SECONDS
        handed = self.hub.handed
        while any(head > handed.get(key, 0) for key, head in heads.items()):
            if loop.time() >= deadline:
                return False
            await asyncio.sleep(ARRIVAL_POLL_SECONDS)
        return True


_heads: weakref.WeakKeyDictionary[Hub, Heads] = weakref.WeakKeyDictionary()


def watch(hub: Hub) -> Heads:
    """The heads of this hub, running."""
    heads = _heads.get(hub)
    if heads is None:
        heads = _heads[hub] = Heads(hub)
    heads.ensure_running()
    return heads
