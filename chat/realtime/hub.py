"""Fan-out inside each worker process: one channel-layer subscription per group, not per socket.

With a channel per socket, a message to a room of N members is N layer deliveries, N task
wake-ups and N dispatches before the N socket writes; profiling the fan-out benchmark put most
of the server's time there. Here each process joins a group once, on its hub's channel, when its
first local socket follows it, and leaves when its last one stops. The hub hands each message to
the process's consumers of that group in turn (as Zulip's Tornado and Mattermost's hub do), and a
consumer writes it at once when it is next in line: by the hub's own call (`deliver_now`, no
coroutine), or else through `deliver` (delivery.py). One hand-out at a time, a message or a
broadcast, and `handed` keeps the highest seq handed out per stream: heads.py waits for it, and a
socket that joins a group learns from it what passed before its join.

Messages name the group they were sent to (events.group_message), since the layer does not.

Stream events reach a hub out of seq order when two workers commit to one stream at nearly the
same time (each publishes after its own commit). A socket that sees seq n+1 before n would repair
the gap with a database read of its own: with two workers sending, that was dozens of reads per
message (/tmp/perf/goal4.md). So the hub makes a gap its own: an event that skips ahead of the
last one it handed out for its stream is held, with any after it, for at most REORDER_SECONDS;
when the missing one arrives, all of them are handed out in order; when the window passes first,
the hub reads the missing events once (replay.events_between) and hands everything out in order.
In order, nothing waits. If that read fails, what is held is handed out as it is, and each socket
repairs its gap itself (delivery.py), as it would without the hub's help.

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

from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from django.conf import settings

from chat.streams import stream_of_group

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
# How long an event that skips ahead in its stream waits for the ones before it, before the hub
# reads them from the database (one read for every socket of the process). Two workers' commits
# published out of order arrive a few milliseconds apart.
REORDER_SECONDS = 0.15


class Subscriber(Protocol):
    async def deliver(self, message: dict[str, Any]) -> None: ...

    # Optional: handle `message` at once, without a coroutine; False to be handed it by `deliver`.
    # def deliver_now(self, message: dict[str, Any]) -> bool: ...


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
        # One hand-out at a time (a message to a group, or a broadcast): a broadcast of heads thus
        # reaches each socket after every message this hub received before it (heads.py).
        self._handing = asyncio.Lock()
        self.handed: dict[str, int] = {}  # stream -> the highest seq handed to this process's sockets
        # stream -> the highest seq this hub handed out itself (`handed` also takes seqs read as stored)
        self.live: dict[str, int] = {}
        # stream -> seq -> (event, when it arrived): events held until the ones before them arrive
        self.held: dict[str, dict[int, tuple[dict[str, Any], float]]] = {}
        self._repairs: dict[str, asyncio.Task] = {}  # stream -> the task that repairs its gap when the window ends

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
            stream = stream_of_group(group)
            self.handed.pop(stream, None)
            self.live.pop(stream, None)
            self.held.pop(stream, None)
            repair = self._repairs.pop(stream, None)
            if repair is not None and repair is not asyncio.current_task():
                repair.cancel()
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
                # A lost message is repaired by a gap check (the hub's, each socket's); a dead reader would not be.
                # Messages may have been lost meanwhile: the watcher rejoins and calls for heads.
                if self.down_since is None:
                    log.exception("event=hub_receive_failed channel=%s", self.channel_name)
                self._layer_failed("receive", error)
                await asyncio.sleep(RETRY_SECONDS)
                continue
            await self.fan_out(message)

    async def fan_out(self, message: dict[str, Any]) -> None:
        async with self._handing:
            stream, seq = message.get("stream"), message.get("seq")
            if message.get("type") != "stream.event" or not isinstance(seq, int) or stream is None:
                await self._deliver_to(list(self.groups.get(message.get("group"), ())), message)
                return
            if self._hold(stream, seq, message):
                return
            await self._hand_out(stream, seq, message)
            await self._release_next(stream)

    def _hold(self, stream: str, seq: int, message: dict[str, Any]) -> bool:
        """Hold a stream event that skips ahead of the last one handed out; False to hand it out now:
        next in line, late or a duplicate (the sockets drop what they have), or the first here."""
        if message.get("group") not in self.groups:
            return False
        last = self.live.get(stream, self.handed.get(stream))
        if last is None or seq <= last + 1:
            return False
        loop = asyncio.get_running_loop()
        self.held.setdefault(stream, {}).setdefault(seq, (message, loop.time()))
        repair = self._repairs.get(stream)
        if repair is None or repair.done():
            self._repairs[stream] = loop.create_task(self._repair_when_due(stream))
        return True

    async def _hand_out(self, stream: str, seq: int, message: dict[str, Any]) -> None:
        # Noted before handing it out: a socket that joins meanwhile sees that it missed it.
        self.note_handed({stream: seq})
        subscribers = self.groups.get(message.get("group"))
        if subscribers is None:
            return  # (a group left: what it still receives goes to nobody, and is no baseline)
        if seq > self.live.get(stream, 0):
            self.live[stream] = seq
        # A copy: a delivery may end with the subscriber leaving.
        await self._deliver_to(list(subscribers), message)

    async def _release_next(self, stream: str) -> None:
        """Hand out the held events of `stream` that are next in line now."""
        held = self.held.get(stream)
        while held:
            seq = min(held)
            if seq > self.live.get(stream, 0) + 1:
                return
            message, _ = held.pop(seq)
            await self._hand_out(stream, seq, message)
        self.held.pop(stream, None)
        repair = self._repairs.pop(stream, None)
        if repair is not None and repair is not asyncio.current_task():
            repair.cancel()

    async def _repair_when_due(self, stream: str) -> None:
        """Once the oldest held event of `stream` has waited REORDER_SECONDS, read what is missing
        before the newest once, and hand out in order everything up to it."""
        loop = asyncio.get_running_loop()
        try:
            while held := self.held.get(stream):
                wait = min(arrived for _, arrived in held.values()) + REORDER_SECONDS - loop.time()
                if wait > 0:
                    await asyncio.sleep(wait)
                    continue
                after, before = self.live.get(stream, self.handed.get(stream, 0)), max(held)
                frames = await self._read_missing(stream, after, before)
                async with self._handing:
                    await self._release_repaired(stream, before, frames)
        finally:
            if self._repairs.get(stream) is asyncio.current_task():
                del self._repairs[stream]

    async def _read_missing(self, stream: str, after: int, before: int) -> list[dict[str, Any]]:
        """The stored events of `stream` between `after` and `before`; none when too many (the
        sockets then resync) or when the read fails (each socket repairs its gap itself)."""
        from chat.realtime import replay  # (the models: this module is imported before Django is set up)

        if before - after - 1 > settings.SYNC_REPLAY_LIMIT:
            return []
        try:
            return await database_sync_to_async(replay.events_between)(stream, after, before)
        except Exception as error:
            log.warning(
                "event=hub_gap_repair_failed stream=%s after=%s before=%s error=%r", stream, after, before, error
            )
            return []

    async def _release_repaired(self, stream: str, before: int, frames: list[dict[str, Any]]) -> None:
        from chat import events

        held = self.held.get(stream)
        if not held:
            return  # the missing ones arrived meanwhile
        group = next(iter(held.values()))[0].get("group")
        last = self.live.get(stream, 0)
        due = {seq: message for seq, (message, _) in held.items() if seq <= before}
        for frame in frames:
            seq = frame.get("seq")
            if isinstance(seq, int) and seq > last and seq not in due:
                message = events.group_message(group, "stream.event", frame)
                message["at"] = None  # committed some time ago: not a live delivery's latency
                due[seq] = message
        log.debug("event=hub_gap_repaired stream=%s after=%s before=%s read=%d", stream, last, before, len(frames))
        for seq in sorted(due):
            held.pop(seq, None)
            await self._hand_out(stream, seq, due[seq])
        await self._release_next(stream)

    def note_handed(self, seqs: dict[str, int]) -> None:
        """These seqs of streams followed here are handed out already (or were read as stored)."""
        handed = self.handed
        for stream, seq in seqs.items():
            if seq > handed.get(stream, 0):
                handed[stream] = seq

    async def broadcast(self, message: dict[str, Any]) -> None:
        """Hand `message` to every subscriber of this process once."""
        async with self._handing:
            await self._deliver_to(self.subscribers(), message)

    async def _deliver_to(self, subscribers: Iterable[Subscriber], message: dict[str, Any]) -> None:
        for index, subscriber in enumerate(subscribers, start=1):
            try:
                deliver_now = getattr(subscriber, "deliver_now", None)
                if deliver_now is None or not deliver_now(message):
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
