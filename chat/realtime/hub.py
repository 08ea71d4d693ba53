"""Fan-out inside each worker process: one channel-layer subscription per group, not per socket.

With a channel per socket, a message to a room of N members is N layer deliveries, N task
wake-ups and N dispatches before the N socket writes; profiling the fan-out benchmark put most
of the server's time there. Here each process joins a group once, on its hub's channel, when its
first local socket follows it, and leaves when its last one stops. The hub hands each message to
the process's consumers of that group in turn (as Zulip's Tornado and Mattermost's hub do), and a
consumer writes it at once when it is next in line (ChatConsumer.deliver).

Messages name the group they were sent to (events.group_message), since the layer does not.
"""

from __future__ import annotations

import asyncio
import logging
import weakref
from typing import Any, Protocol

from channels.layers import get_channel_layer

log = logging.getLogger(__name__)

# The prefix of hub channels: settings give them room for bursts (CHANNEL_LAYERS channel_capacity).
CHANNEL_PREFIX = "hub"
RETRY_SECONDS = 0.5
# Channel layers forget a group member a day after it joined (group_expiry): rejoin well before.
REJOIN_EVERY_SECONDS = 3600.0
# Yield to the event loop every this many deliveries, so what was written so far goes out while
# the rest of the room is written (bench/fanout.py, 1000 members at 10 msg/s: p99 60 ms at 10-50,
# 92 ms at 100, 150 ms never yielding).
YIELD_EVERY = 25


class Subscriber(Protocol):
    async def deliver(self, message: dict[str, Any]) -> None: ...


class Hub:
    def __init__(self, layer) -> None:
        self.layer = layer
        self.groups: dict[str, dict[Subscriber, None]] = {}  # group -> this process's subscribers, in join order
        self._locks: weakref.WeakValueDictionary[str, asyncio.Lock] = weakref.WeakValueDictionary()
        self.channel_name: str | None = None
        self._reader: asyncio.Task | None = None
        self._rejoiner: asyncio.Task | None = None

    async def join(self, group: str, subscriber: Subscriber) -> None:
        """Returns once the layer sends the group's messages here, so nothing published later is missed."""
        async with self._lock(group):
            if group not in self.groups:
                await self.layer.group_add(group, await self._channel())
                self.groups[group] = {}
            self.groups[group][subscriber] = None
            self._start()

    async def leave(self, group: str, subscriber: Subscriber) -> None:
        async with self._lock(group):
            subscribers = self.groups.get(group)
            if subscribers is None or subscriber not in subscribers:
                return
            del subscribers[subscriber]
            if subscribers:
                return
            del self.groups[group]
            if not self.groups:
                self._stop()
            await self.layer.group_discard(group, self.channel_name)

    def _lock(self, group: str) -> asyncio.Lock:
        # Joins and leaves of one group take turns, so the layer's membership follows ours.
        lock = self._locks.get(group)
        if lock is None:
            lock = self._locks[group] = asyncio.Lock()
        return lock

    async def _channel(self) -> str:
        if self.channel_name is None:
            self.channel_name = await self.layer.new_channel(prefix=CHANNEL_PREFIX)
        return self.channel_name

    def _start(self) -> None:
        if self._reader is None or self._reader.done():
            loop = asyncio.get_running_loop()
            self._reader = loop.create_task(self._read())
            self._rejoiner = loop.create_task(self._rejoin())

    def _stop(self) -> None:
        reader, self._reader = self._reader, None
        if reader is not None and reader is not asyncio.current_task():
            reader.cancel()  # (a reader that stopped itself ends after its current message)
        if self._rejoiner is not None:
            self._rejoiner.cancel()
            self._rejoiner = None

    async def _rejoin(self) -> None:
        while True:
            await asyncio.sleep(REJOIN_EVERY_SECONDS)
            for group in list(self.groups):
                async with self._lock(group):
                    if group in self.groups:
                        await self.layer.group_add(group, self.channel_name)

    async def _read(self) -> None:
        while self._reader is asyncio.current_task():
            try:
                message = await self.layer.receive(self.channel_name)
            except Exception:  # (not CancelledError: a BaseException, so a stop still stops it)
                # A lost message is repaired by each socket's gap check; a dead reader would not be.
                log.exception("event=hub_receive_failed channel=%s", self.channel_name)
                await asyncio.sleep(RETRY_SECONDS)
                continue
            await self.fan_out(message)

    async def fan_out(self, message: dict[str, Any]) -> None:
        # A copy: a delivery may end with the subscriber leaving.
        for index, subscriber in enumerate(list(self.groups.get(message.get("group"), ())), start=1):
            try:
                await subscriber.deliver(message)
            except Exception:
                log.exception("event=delivery_failed group=%s type=%s", message.get("group"), message.get("type"))
            if index % YIELD_EVERY == 0:
                # Let the event loop put what was written so far on the wire (and serve others).
                await asyncio.sleep(0)


_hubs: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Hub] = weakref.WeakKeyDictionary()


def current_hub() -> Hub:
    """This process's hub on the running event loop and the configured channel layer."""
    loop = asyncio.get_running_loop()
    layer = get_channel_layer()
    hub = _hubs.get(loop)
    if hub is None or hub.layer is not layer:
        hub = _hubs[loop] = Hub(layer)
    return hub
