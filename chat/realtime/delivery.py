"""What a socket does with the group messages its process's hub hands it (chat/realtime/hub.py).

Delivery is exactly-once and in order per stream: the consumer remembers the last `seq` it sent
for each stream it follows (`following`), drops anything at or below it, and when a live event
skips ahead (two commits published out of order, a group join racing a publish, a message the
layer dropped) or the heads say it is behind (a publication lost while Redis was down), it first
sends the missing events from the database. turns.py decides whether a delivery is written at
once or waits its turn behind the frame being answered.

The fast path (`deliver_now`, most deliveries): a stream event that is next in line on a socket
with nothing else under way is written by the hub's own call, without a coroutine, a lock or a
task, as the bytes of one WebSocket frame encoded once per message for every recipient
(`text_frame`) and written straight to the socket by the server (hobbies/server.py write_frame,
found in the scope). Anything else, and every server without that function (the
tests' communicator), goes the ordinary way through Channels and autobahn.
"""

from __future__ import annotations

import struct
from typing import Any

from channels.consumer import get_handler_name
from channels.db import database_sync_to_async
from django.conf import settings

from chat.realtime import presence, replay
from chat.services import reads
from chat.streams import StreamKey
from hobbies import metrics

RESYNC_REASON = "Too much was missed; reload."
# The scope key of the server's function that writes a prepared frame (hobbies/server.py WRITE_FRAME;
# this package does not import the server, which installs Twisted's reactor).
WRITE_FRAME = "hobbies.write_frame"


def text_frame(text: str) -> bytes:
    """One complete, unmasked, uncompressed WebSocket text frame carrying `text` (RFC 6455 5.2), as
    a server sends it: the same bytes for every recipient."""
    payload = text.encode()
    length = len(payload)
    if length < 126:
        header = struct.pack("!BB", 0x81, length)
    elif length < 1 << 16:
        header = struct.pack("!BBH", 0x81, 126, length)
    else:
        header = struct.pack("!BBQ", 0x81, 127, length)
    return header + payload


def wire_frame(message: dict[str, Any]) -> bytes:
    """The frame of a group message's text, encoded by the first socket that writes it."""
    frame = message.get("wire")
    if frame is None:
        frame = message["wire"] = text_frame(message["text"])
    return frame


class Deliveries:
    """Mixed into ChatConsumer: the handlers of `stream.event`, `stream.live`, `user.event` and
    `stream.heads`, each run in the socket's turn."""

    write_frame = None  # the server's WRITE_FRAME, set on connect when it has one

    def deliver_now(self, message: dict) -> bool:
        """The hub's fast path: write a stream event now if it is next in line and nothing else is
        under way here. False when it must go through `deliver` (and nothing was done)."""
        if self.ended or message["type"] != "stream.event":
            return False
        queue = self.queue
        if queue.inbox or queue.turn.locked():
            return False
        key, seq = message["stream"], message["seq"]
        last = self.following.get(key)
        if last is None or seq <= last:
            return True  # not followed here, or already sent
        if seq != last + 1 or self.write_frame is None or not self.write_frame(wire_frame(message)):
            return False
        self.following[key] = seq
        metrics.delivered(message.get("at"), message.get("channel"))
        return True

    async def _write_text(self, message: dict) -> None:
        if self.write_frame is None or not self.write_frame(wire_frame(message)):
            await self.send(text_data=message["text"])

    async def deliver(self, message: dict) -> None:
        """A group message from the hub: written now, or queued for its turn (turns.py)."""
        if self.ended:
            raise ConnectionError("this socket has ended")  # the hub then forgets it
        await self.queue.deliver(message)

    def _must_wait(self, message: dict) -> bool:
        if message["type"] == "stream.event":
            last = self.following.get(message["stream"])
            return last is not None and message["seq"] > last + 1  # a gap, repaired from the database
        if message["type"] == "stream.heads":
            return message["recovered"] or any(
                head > self.following.get(key, head) for key, head in message["heads"].items()
            )
        if message["type"] == "stream.live":
            return message["kind"] == "channel.deleted"  # leaves groups
        return message["kind"] in {"streams.changed", "session.ended"}  # reads the database, closes

    async def _handle_delivery(self, message: dict) -> None:
        if not self.ended:
            await getattr(self, get_handler_name(message))(message)

    async def stream_event(self, event: dict) -> None:
        key, seq = event["stream"], event["seq"]
        last = self.following.get(key)
        if last is None or seq <= last:
            return  # not followed here, or already sent (replay or gap repair got there first)
        if seq > last + 1:
            await self._catch_up(key, last, seq)
        await self._write_text(event)
        self.following[key] = seq
        metrics.delivered(event.get("at"), event.get("channel"))  # commit -> this write (hobbies/metrics/latency.py)

    async def stream_heads(self, event: dict) -> None:
        """The latest seq of the streams this process follows: send what this tab missed, then tell it."""
        for key, head in event["heads"].items():
            last = self.following.get(key)
            if last is not None and head > last:
                await self._catch_up(key, last, head + 1)
                self.following[key] = head
        if event["recovered"]:
            # A restarted Redis forgot who is connected too.
            await presence.presence_connected(self.user, self.connection_id, self.streams.member)
        await self.send_json({"type": "heads", "streams": dict(self.following)})

    async def _catch_up(self, key: str, last: int, before: int) -> None:
        """Send the stored events of `key` after `last` and before `before`, or `resync` if too many."""
        if before - last - 1 > settings.SYNC_REPLAY_LIMIT:
            await self.send_json({"type": "resync", "stream": key, "reason": RESYNC_REASON})
            return
        for missing_frame in await database_sync_to_async(replay.events_between)(key, last, before):
            await self.send_json(missing_frame)

    async def stream_live(self, event: dict) -> None:
        if event["kind"] == "channel.deleted":
            for key in self.streams.in_channel(event["channel"]):
                await self.streams.unfollow(key)
            await self._write_text(event)
            return
        if event["stream"] not in self.following:
            return
        if event["kind"] == "typing" and event["user_id"] == self.user.pk:
            return
        await self._write_text(event)

    async def user_event(self, event: dict) -> None:
        frame = event["frame"]
        if frame["type"] == "streams.changed":
            await self._refresh_streams()
        elif frame["type"] == "session.ended":
            await self.session_ended(frame)
        else:
            await self.send_json(frame)

    async def _refresh_streams(self) -> None:
        """Membership changed somewhere: follow the streams now ours, drop those no longer ours."""
        keys = set(await database_sync_to_async(reads.member_stream_keys)(self.user))
        removed, added, fresh = await self.streams.become_member_of(keys)
        self.following.update(await database_sync_to_async(reads.last_seqs)(fresh))
        for key in removed:
            await self.send_json({"type": "stream.removed", "stream": key, "channel": StreamKey.parse(key).channel_id})
        for key in added:
            await self._send_stream_added(key)

    async def _send_stream_added(self, key: str) -> None:
        channel_id = StreamKey.parse(key).channel_id
        await self.send_json({"type": "stream.added", "stream": key, "channel": channel_id, "seq": self.following[key]})
