"""Fan-out inside each worker process: one channel-layer subscription per group, not per socket.

With a channel per socket, a message to a room of N members is N layer deliveries, N task
wake-ups and N dispatches before the N socket writes; profiling the fan-out benchmark put most
of the server's time there. Here each process joins a group once, on its hub's channel, when its
first local socket follows it, and leaves when its last one stops. The hub hands each message to
the process's consumers of that group in turn (as Zulip's Tornado and Mattermost's hub do), and a
consumer writes it at once when it is next in line (ChatConsumer.deliver).

Messages name the group they were sent to (events.group_message), since the layer does not.

A layer that goes away must not end live delivery: a Redis restart forgets every group. So a join
while the layer is down is kept (and the socket with it), and the hub probes the layer every
PROBE_SECONDS. When a probe succeeds after a failure (of a receive, a join or a probe), or finds
another server than before (Redis's run_id), the hub joins every group again, then calls its
`on_recovery` listeners: chat/realtime/heads.py tells every socket the latest seq of its
streams, and each sends what it missed from the database. A subscriber whose delivery raises (its
socket is gone) is dropped from every group.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import time
import weakref
from collections.abc import Callable, Iterable
from typing import Any, Protocol

from channels.layers import get_channel_layer

log = logging.getLogger(__name__)

# The prefix of hub channels: settings give them room for bursts (CHANNEL_LAYERS channel_capacity).
CHANNEL_PREFIX = "hub"
RETRY_SECONDS = 0.5
# How often the hub asks the layer whether it is there and still the same server, and how long
# an answer may take (the layer's connections have no read timeout, for the blocking receive).
PROBE_SECONDS = 1.0
PROBE_TIMEOUT_SECONDS = 5.0
# Channel layers forget a group member a day after it joined (group_expiry): rejoin well before.
REJOIN_EVERY_SECONDS = 3600.0
# Yield to the event loop every this many deliveries, so what was written so far goes out while
# the rest of the room is written (bench/fanout.py, 1000 members at 10 msg/s: p99 60 ms at 10-50,
# 92 ms at 100, 150 ms never yielding).
YIELD_EVERY = 25


class Subscriber(Protocol):
    async def deliver(self, message: dict[str, Any]) -> None: ...


async def layer_epoch(layer) -> str:
    """Which server the layer is: each Redis host's run_id (a restarted Redis has a new one, and has
    forgotten every group); one value for as long as an in-process layer lives. Raises when down."""
    ring_size = getattr(layer, "ring_size", None)
    if ring_size is None or not hasattr(layer, "connection"):
        return "in-process"
    run_ids = []
    for index in range(ring_size):
        run_ids.append(str((await layer.connection(index).info("server"))["run_id"]))
    return ",".join(run_ids)


class Hub:
    def __init__(self, layer) -> None:
        self.layer = layer
        self.groups: dict[str, dict[Subscriber, None]] = {}  # group -> this process's subscribers, in join order
        self._locks: weakref.WeakValueDictionary[str, asyncio.Lock] = weakref.WeakValueDictionary()
        self.channel_name: str | None = None
        self._reader: asyncio.Task | None = None
        self._watcher: asyncio.Task | None = None
        self.on_recovery: list[Callable[[], Any]] = []  # called once the groups are joined again
        self.down_since: float | None = None  # the layer failed and has not answered since
        self._epoch: str | None = None

    async def join(self, group: str, subscriber: Subscriber) -> None:
        """Returns once the layer sends the group's messages here, so nothing published later is
        missed; while the layer is down, once the group is noted (it is joined on recovery)."""
        async with self._lock(group):
            if group not in self.groups:
                self.groups[group] = {}
                try:
                    await self.layer.group_add(group, await self._channel())
                except Exception as error:
                    self._layer_failed("join", error)
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
            try:
                await self.layer.group_discard(group, self.channel_name)
            except Exception as error:
                # Its messages still reach this channel until the layer forgets it: nobody reads them here.
                self._layer_failed("leave", error)

    async def forget(self, subscriber: Subscriber) -> None:
        """Drop a subscriber from every group it is in (its socket is gone)."""
        for group in [group for group, subscribers in self.groups.items() if subscriber in subscribers]:
            await self.leave(group, subscriber)

    def subscribers(self) -> list[Subscriber]:
        """Every subscriber of this process, once each."""
        return list(dict.fromkeys(subscriber for subscribers in self.groups.values() for subscriber in subscribers))

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
            self._watcher = loop.create_task(self._watch())

    def _stop(self) -> None:
        reader, self._reader = self._reader, None
        if reader is not None and reader is not asyncio.current_task():
            reader.cancel()  # (a reader that stopped itself ends after its current message)
        watcher, self._watcher = self._watcher, None
        if watcher is not None and watcher is not asyncio.current_task():
            watcher.cancel()

    def _layer_failed(self, during: str, error: BaseException) -> None:
        if self.down_since is None:
            self.down_since = time.monotonic()
            log.warning("event=layer_down during=%s channel=%s error=%r", during, self.channel_name, error)

    async def _watch(self) -> None:
        """Probe the layer; join every group again when it is back or is another server, and hourly."""
        rejoined = time.monotonic()
        while True:
            try:
                epoch = await asyncio.wait_for(layer_epoch(self.layer), PROBE_TIMEOUT_SECONDS)
            except Exception as error:
                self._layer_failed("probe", error)
            else:
                restarted = self._epoch is not None and epoch != self._epoch
                if self.down_since is not None or restarted:
                    if await self._rejoin():
                        self._epoch, rejoined = epoch, time.monotonic()
                        await self._recovered(restarted)
                else:
                    self._epoch = epoch
                    if time.monotonic() - rejoined >= REJOIN_EVERY_SECONDS and await self._rejoin():
                        rejoined = time.monotonic()
            await asyncio.sleep(PROBE_SECONDS)

    async def _rejoin(self) -> bool:
        try:
            for group in list(self.groups):
                async with self._lock(group):
                    if group in self.groups:
                        await self.layer.group_add(group, await self._channel())
        except Exception as error:
            self._layer_failed("rejoin", error)
            return False
        return True

    async def _recovered(self, restarted: bool) -> None:
        down_for = time.monotonic() - self.down_since if self.down_since is not None else 0.0
        self.down_since = None
        log.warning(
            "event=layer_recovered groups=%d restarted=%s down_for=%.1fs", len(self.groups), restarted, down_for
        )
        for listener in list(self.on_recovery):
            try:
                result = listener()
                if inspect.isawaitable(result):
                    await result
            except Exception:
                log.exception("event=recovery_listener_failed")

    async def _read(self) -> None:
        while self._reader is asyncio.current_task():
            try:
                message = await self.layer.receive(self.channel_name)
            except Exception as error:  # (not CancelledError: a BaseException, so a stop still stops it)
                # A lost message is repaired by each socket's gap check; a dead reader would not be.
                # Messages may have been lost meanwhile: the watcher rejoins and calls for heads.
                if self.down_since is None:
                    log.exception("event=hub_receive_failed channel=%s", self.channel_name)
                self._layer_failed("receive", error)
                await asyncio.sleep(RETRY_SECONDS)
                continue
            await self.fan_out(message)

    async def fan_out(self, message: dict[str, Any]) -> None:
        # A copy: a delivery may end with the subscriber leaving.
        await self._deliver_to(list(self.groups.get(message.get("group"), ())), message)

    async def broadcast(self, message: dict[str, Any]) -> None:
        """Hand `message` to every subscriber of this process once."""
        await self._deliver_to(self.subscribers(), message)

    async def _deliver_to(self, subscribers: Iterable[Subscriber], message: dict[str, Any]) -> None:
        for index, subscriber in enumerate(subscribers, start=1):
            try:
                await subscriber.deliver(message)
            except Exception:
                log.exception(
                    "event=delivery_failed group=%s type=%s dropped=1", message.get("group"), message.get("type")
                )
                await self.forget(subscriber)
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
