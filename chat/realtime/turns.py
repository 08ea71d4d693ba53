"""One thing at a time on a socket: a frame from the browser, or a delivery from the hub.

A delivery is written at once when nothing else is under way on the socket and handling it
cannot wait (no database, no layer); otherwise it queues in arrival order for its turn, so
frames from the browser and deliveries never interleave. A long queue drops its oldest stream
message: the newest stays, so the gap before it is seen and repaired from the database.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Awaitable, Callable

log = logging.getLogger(__name__)

# Deliveries queued behind a slow turn: beyond this many, the oldest stream message is dropped
# (a dropped event is repaired as a gap, typing and presence are momentary).
INBOX_LIMIT = 500


class DeliveryQueue:
    def __init__(self, handle: Callable[[dict], Awaitable[None]], must_wait: Callable[[dict], bool]) -> None:
        self.handle = handle  # writes one delivery to the socket
        self.must_wait = must_wait  # whether a delivery needs the database or the layer
        self.turn = asyncio.Lock()
        # A deque only while deliveries wait (an idle socket's empty deque was 0.6 KiB of its memory).
        self.inbox: deque[dict] | tuple = ()
        self.drainer: asyncio.Task | None = None

    async def deliver(self, message: dict) -> None:
        if self.turn.locked() or self.inbox or self.must_wait(message):
            if not self.inbox:
                self.inbox = deque()
            self.inbox.append(message)
            if len(self.inbox) > INBOX_LIMIT:
                self._drop_oldest_stream_message()
            if self.drainer is None or self.drainer.done():
                self.drainer = asyncio.get_running_loop().create_task(self._drain())
            return
        async with self.turn:  # free, so taken without waiting
            await self.handle(message)

    def clear(self) -> None:
        self.inbox = ()

    def _drop_oldest_stream_message(self) -> None:
        # A person's own notices (streams changed, unread counts) are never dropped.
        for index, queued in enumerate(self.inbox):
            if queued["type"] != "user.event":
                del self.inbox[index]
                return

    async def _drain(self) -> None:
        async with self.turn:
            while self.inbox:
                message = self.inbox.popleft()
                try:
                    await self.handle(message)
                except Exception:
                    log.exception("event=delivery_failed type=%s", message["type"])
            self.inbox = ()
