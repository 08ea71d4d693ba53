"""The one WebSocket per browser tab (docs/protocol.md): thin, every change goes through services.

Delivery is exactly-once and in order per stream: the consumer remembers the last `seq` it sent
for each stream it follows, drops anything at or below it, and when a live event skips ahead
(two commits published out of order, a group join racing a publish, a message the layer dropped)
it first sends the missing events from the database.

A socket has no channel of its own in the channel layer: this process's hub (chat/hub.py) joins
each group once and hands its messages to `deliver`, which writes them at once when they are
next in line and nothing else is under way on this socket, and otherwise queues them for their
turn, so frames from the browser and deliveries never interleave.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
import uuid
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any

from channels.consumer import get_handler_name
from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.conf import settings

from chat import events, presence, realtime
from chat.attachments import AttachmentError
from chat.exceptions import ChannelFull, ChannelNotFound, ChatError, InvalidRequest, NotAllowed
from chat.hub import current_hub
from chat.services import messages as message_service
from chat.streams import StreamKey, user_group

log = logging.getLogger(__name__)

CLOSE_NOT_SIGNED_IN = 4401
TYPING_DEBOUNCE_SECONDS = 2.0
HEARTBEAT_EVERY_SECONDS = 20.0
RESYNC_REASON = "Too much was missed; reload."
# Deliveries queued behind a slow turn: beyond this many, the oldest stream message is dropped
# (a dropped event is repaired as a gap, typing and presence are momentary).
INBOX_LIMIT = 500


class FrameError(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def error_code(error: ChatError) -> str:
    if isinstance(error, AttachmentError):
        return "attachment_refused"
    if isinstance(error, message_service.MessageRefused):
        return error.code
    if isinstance(error, message_service.Banned):
        return "banned"
    if isinstance(error, ChannelNotFound):
        return "not_found"
    if isinstance(error, NotAllowed):
        return "forbidden"
    if isinstance(error, ChannelFull):
        return "channel_full"
    if isinstance(error, InvalidRequest) and "does not exist" in error.message:
        return "not_found"
    return "invalid"


def field(frame: dict, name: str, kind: type | tuple[type, ...], *, required: bool = True) -> Any:
    value = frame.get(name)
    if value is None and not required:
        return None
    # bool is an int in Python; a channel id of `true` is still wrong.
    if value is None or isinstance(value, bool) or not isinstance(value, kind):
        raise FrameError("invalid", f"`{name}` is {'missing' if value is None else 'of the wrong type'}.")
    return value


def positive_id(frame: dict, name: str) -> int:
    value = field(frame, name, int)
    if value <= 0:
        raise FrameError("invalid", f"`{name}` must be a positive id.")
    return value


class ChatConsumer(AsyncJsonWebsocketConsumer):
    # No channel per socket (an alias with no layer configured makes Channels open none):
    # the hub delivers this socket's group messages to `deliver`.
    channel_layer_alias = None

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.connection_id = uuid.uuid4().hex  # this socket in the presence store
        self.turn = asyncio.Lock()  # one thing at a time: a frame from the browser, or a delivery that waits
        self.inbox: deque[dict] = deque()  # deliveries waiting for their turn, in arrival order
        self.drainer: asyncio.Task | None = None
        self.joined: set[str] = set()  # groups this socket receives through the hub

    async def connect(self) -> None:
        self.user = self.scope.get("user")
        if self.user is None or not self.user.is_authenticated:
            await self.accept()
            await self.close(code=CLOSE_NOT_SIGNED_IN)
            return
        self.hub = current_hub()
        self.following: dict[str, int] = {}  # stream key -> last seq sent to this tab
        self.member_streams: set[str] = set()
        self.viewing: set[str] = set()  # public streams followed while viewing, without membership
        self.typing_sent: dict[str, float] = {}
        self.last_heartbeat = time.monotonic()
        await self.accept()
        await self._join(user_group(self.user.pk))
        # Join the groups before reading the seqs, so nothing published in between is lost.
        keys = await database_sync_to_async(realtime.member_stream_keys)(self.user)
        await self._follow(keys, member=True)
        self.following.update(await database_sync_to_async(realtime.last_seqs)(keys))
        await realtime.presence_connected(self.user, self.connection_id, self.member_streams)
        await self.send_json(
            {"type": "hello", "user": {"id": self.user.pk, "username": self.user.username}, "streams": self.following}
        )

    async def disconnect(self, code: int) -> None:
        if not hasattr(self, "member_streams"):
            return  # refused in connect (not signed in): nothing was joined
        self.inbox.clear()
        for group in list(self.joined):
            await self._leave(group)
        await realtime.presence_disconnected(self.user, self.connection_id, self.member_streams)

    async def dispatch(self, message: dict) -> None:
        # Channels' dispatch also hops to a thread to close stale database connections before
        # every message; here the database is reached only through database_sync_to_async, which
        # does that itself around each call.
        handler = getattr(self, get_handler_name(message), None)
        if handler is None:
            raise ValueError(f"No handler for message type {message['type']}")
        async with self.turn:
            await handler(message)

    # Deliveries from this process's hub

    async def deliver(self, message: dict) -> None:
        """Write a group message at once when nothing else is under way here and handling it
        cannot wait (no database, no layer); otherwise queue it for its turn."""
        if self.turn.locked() or self.inbox or self._must_wait(message):
            self.inbox.append(message)
            if len(self.inbox) > INBOX_LIMIT:
                self._drop_oldest_stream_message()
            if self.drainer is None or self.drainer.done():
                self.drainer = asyncio.get_running_loop().create_task(self._drain())
            return
        async with self.turn:  # free, so taken without waiting
            await self._handle_delivery(message)

    def _drop_oldest_stream_message(self) -> None:
        # The newest stays, so the gap before it is seen and repaired from the database; a
        # person's own notices (streams changed, unread counts) are never dropped.
        for index, queued in enumerate(self.inbox):
            if queued["type"] != "user.event":
                del self.inbox[index]
                return

    def _must_wait(self, message: dict) -> bool:
        if message["type"] == "stream.event":
            last = self.following.get(message["stream"])
            return last is not None and message["seq"] > last + 1  # a gap, repaired from the database
        if message["type"] == "stream.live":
            return message["kind"] == "channel.deleted"  # leaves groups
        return message["kind"] == "streams.changed"  # reads the database

    async def _drain(self) -> None:
        async with self.turn:
            while self.inbox:
                message = self.inbox.popleft()
                try:
                    await self._handle_delivery(message)
                except Exception:
                    log.exception("event=delivery_failed user=%s type=%s", self.user.pk, message["type"])

    async def _handle_delivery(self, message: dict) -> None:
        await getattr(self, get_handler_name(message))(message)

    # Frames from the browser

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        if text_data is None:
            await self.send_error("bad_json", "Frames are JSON text.")
            return
        if len(text_data) > settings.WS_MAX_FRAME_BYTES:
            await self.send_error("frame_too_large", f"A frame can be at most {settings.WS_MAX_FRAME_BYTES} bytes.")
            return
        try:
            frame = json.loads(text_data)
        except ValueError:
            await self.send_error("bad_json", "That frame is not valid JSON.")
            return
        if not isinstance(frame, dict):
            await self.send_error("bad_json", "A frame is a JSON object with a `type`.")
            return
        await self.receive_json(frame)

    async def receive_json(self, content: dict, **kwargs) -> None:
        frame_type = content.get("type")
        handler = self.handlers.get(frame_type) if isinstance(frame_type, str) else None
        if handler is None:
            await self.send_error(
                "unknown_type", "Unknown frame type.", ref=frame_type if isinstance(frame_type, str) else None
            )
            return
        await self._heartbeat()
        client_msg_id = content.get("client_msg_id") if isinstance(content.get("client_msg_id"), str) else None
        try:
            await handler(self, content)
        except FrameError as error:
            await self.send_error(error.code, error.message, ref=frame_type, client_msg_id=client_msg_id)
        except ChatError as error:
            await self.send_error(
                error_code(error),
                error.message,
                ref=frame_type,
                client_msg_id=client_msg_id,
                retry_after=getattr(error, "retry_after", None),
            )
        except Exception:
            log.exception("event=frame_failed type=%s user=%s", frame_type, self.user.pk)
            await self.send_error(
                "server_error",
                "Something went wrong; nothing was changed.",
                ref=frame_type,
                client_msg_id=client_msg_id,
            )

    async def send_error(self, code: str, message: str, **extra: Any) -> None:
        await self.send_json(
            {"type": "error", "code": code, "message": message, **{k: v for k, v in extra.items() if v is not None}}
        )

    async def on_message_send(self, frame: dict) -> None:
        channel_id = positive_id(frame, "channel")
        content = field(frame, "content", str)
        try:
            client_msg_id = uuid.UUID(field(frame, "client_msg_id", str))
        except ValueError:
            raise FrameError("invalid", "`client_msg_id` must be a UUID.") from None
        metadata = field(frame, "metadata", dict, required=False)
        attachment_ids = field(frame, "attachments", list, required=False)
        stream = self._stream_field(frame)
        result = await database_sync_to_async(message_service.send_message)(
            actor=self.user,
            channel_id=channel_id,
            content=content,
            client_msg_id=client_msg_id,
            metadata=metadata,
            stream=stream,
            attachment_ids=attachment_ids,
        )
        message = await database_sync_to_async(message_service.message_payload)(result.message)
        await self.send_json(
            {
                "type": "ack",
                "client_msg_id": str(client_msg_id),
                "stream": message["stream"],
                "seq": message["seq"],
                "message": message,
            }
        )

    async def on_message_edit(self, frame: dict) -> None:
        await database_sync_to_async(message_service.edit_message)(
            actor=self.user, message_id=positive_id(frame, "message"), content=field(frame, "content", str)
        )

    async def on_message_redact(self, frame: dict) -> None:
        await database_sync_to_async(message_service.redact_message)(
            actor=self.user, message_id=positive_id(frame, "message")
        )

    async def on_message_delete(self, frame: dict) -> None:
        await database_sync_to_async(message_service.delete_message)(
            actor=self.user, message_id=positive_id(frame, "message")
        )

    async def on_typing(self, frame: dict) -> None:
        key = self._own_stream(positive_id(frame, "channel"), self._stream_field(frame))
        now = time.monotonic()
        if now - self.typing_sent.get(key, 0.0) < TYPING_DEBOUNCE_SECONDS:
            return  # debounced: at most one typing notice per stream every 2 s
        self.typing_sent[key] = now
        typing = {
            "type": "typing",
            "stream": key,
            "channel": StreamKey.parse(key).channel_id,
            "user": {"id": self.user.pk, "username": self.user.username},
        }
        await events.asend_group(StreamKey.parse(key).group, "stream.live", typing)

    async def on_channel_subscribe(self, frame: dict) -> None:
        key = await database_sync_to_async(realtime.viewing_stream)(self.user, positive_id(frame, "channel"))
        if key not in self.following:
            self.viewing.add(key)
            await self._follow([key], member=False)
            self.following[key] = (await database_sync_to_async(realtime.last_seqs)([key]))[key]
        await self.send_json(
            {
                "type": "stream.added",
                "stream": key,
                "channel": StreamKey.parse(key).channel_id,
                "seq": self.following[key],
            }
        )

    async def on_channel_unsubscribe(self, frame: dict) -> None:
        channel_id = positive_id(frame, "channel")
        for key in [key for key in self.viewing if StreamKey.parse(key).channel_id == channel_id]:
            await self._unfollow(key)

    async def on_read(self, frame: dict) -> None:
        key = StreamKey.parse(self._own_stream(positive_id(frame, "channel"), self._stream_field(frame)))
        seq = field(frame, "seq", int)
        marker, count = await database_sync_to_async(message_service.mark_read)(actor=self.user, key=key, seq=seq)
        unread = {
            "type": "unread",
            "channel": key.channel_id,
            "stream": str(key),
            "count": count,
            "last_read_seq": marker,
        }
        # Every tab of this person updates its counts.
        await events.asend_group(user_group(self.user.pk), "user.event", unread)

    async def on_sync(self, frame: dict) -> None:
        wanted = field(frame, "streams", dict)
        reached: dict[str, int] = {}
        for raw, seq in wanted.items():
            try:
                key = StreamKey.parse(raw)
            except ValueError as error:
                await self.send_error("invalid", str(error), ref="sync", stream=raw)
                continue
            if isinstance(seq, bool) or not isinstance(seq, int) or seq < 0:
                await self.send_error("invalid", "A seq is a whole number ≥ 0.", ref="sync", stream=raw)
                continue
            replay = await database_sync_to_async(realtime.replay)(self.user, key, seq)
            if replay is None:
                await self.send_error(
                    "not_found", "That stream does not exist or is not visible to you.", ref="sync", stream=raw
                )
            elif replay.too_far_behind:
                await self.send_json({"type": "resync", "stream": raw, "reason": RESYNC_REASON})
            else:
                for event_frame in replay.frames:
                    await self.send_json(event_frame)
                reached[raw] = replay.reached
                if raw in self.following:
                    self.following[raw] = max(self.following[raw], replay.reached)
        await self.send_json({"type": "sync.done", "streams": reached})

    async def on_presence_set(self, frame: dict) -> None:
        status = field(frame, "status", str)
        text = field(frame, "text", str, required=False) or ""
        if status not in presence.STATUSES:
            raise FrameError("invalid", "`status` is online or away.")
        if len(text) > presence.MAX_STATUS_TEXT:
            raise FrameError("invalid", f"A status text can be at most {presence.MAX_STATUS_TEXT} characters.")
        await realtime.presence_set(self.user, presence.Presence(status, text.strip()), self.member_streams)

    async def on_ping(self, frame: dict) -> None:
        await self.send_json({"type": "pong", "id": frame.get("id")})

    handlers: dict[str, Callable[[ChatConsumer, dict], Awaitable[None]]] = {
        "message.send": on_message_send,
        "message.edit": on_message_edit,
        "message.redact": on_message_redact,
        "message.delete": on_message_delete,
        "typing": on_typing,
        "channel.subscribe": on_channel_subscribe,
        "channel.unsubscribe": on_channel_unsubscribe,
        "read": on_read,
        "sync": on_sync,
        "presence.set": on_presence_set,
        "ping": on_ping,
    }

    # Group messages, in their turn

    async def stream_event(self, event: dict) -> None:
        key, seq = event["stream"], event["seq"]
        last = self.following.get(key)
        if last is None or seq <= last:
            return  # not followed here, or already sent (replay or gap repair got there first)
        if seq - last - 1 > settings.SYNC_REPLAY_LIMIT:
            await self.send_json({"type": "resync", "stream": key, "reason": RESYNC_REASON})
        elif seq > last + 1:
            missing = await database_sync_to_async(realtime.events_between)(key, last, seq)
            for missing_frame in missing:
                await self.send_json(missing_frame)
        await self.send(text_data=event["text"])
        self.following[key] = seq

    async def stream_live(self, event: dict) -> None:
        if event["kind"] == "channel.deleted":
            for key in [key for key in self.following if StreamKey.parse(key).channel_id == event["channel"]]:
                await self._unfollow(key)
            await self.send(text_data=event["text"])
            return
        if event["stream"] not in self.following:
            return
        if event["kind"] == "typing" and event["user_id"] == self.user.pk:
            return
        await self.send(text_data=event["text"])

    async def user_event(self, event: dict) -> None:
        frame = event["frame"]
        if frame["type"] == "streams.changed":
            await self._refresh_streams()
            return
        await self.send_json(frame)

    # Following streams

    async def _join(self, group: str) -> None:
        self.joined.add(group)
        await self.hub.join(group, self)

    async def _leave(self, group: str) -> None:
        self.joined.discard(group)
        await self.hub.leave(group, self)

    async def _follow(self, keys, *, member: bool) -> None:
        for key in keys:
            await self._join(StreamKey.parse(key).group)
            if member:
                self.member_streams.add(key)

    async def _unfollow(self, key: str) -> None:
        await self._leave(StreamKey.parse(key).group)
        self.following.pop(key, None)
        self.member_streams.discard(key)
        self.viewing.discard(key)

    async def _refresh_streams(self) -> None:
        """Membership changed somewhere: follow the streams now ours, drop those no longer ours."""
        keys = set(await database_sync_to_async(realtime.member_stream_keys)(self.user))
        for key in sorted(self.member_streams - keys):
            if key in self.viewing:
                self.member_streams.discard(key)  # still viewing a public channel left
                continue
            await self._unfollow(key)
            await self.send_json({"type": "stream.removed", "stream": key, "channel": StreamKey.parse(key).channel_id})
        added = sorted(keys - self.member_streams)
        fresh = [key for key in added if key not in self.following]
        await self._follow(added, member=True)
        self.viewing -= set(added)
        self.following.update(await database_sync_to_async(realtime.last_seqs)(fresh))
        for key in added:
            await self.send_json(
                {
                    "type": "stream.added",
                    "stream": key,
                    "channel": StreamKey.parse(key).channel_id,
                    "seq": self.following[key],
                }
            )

    def _stream_field(self, frame: dict) -> StreamKey | None:
        raw = frame.get("stream")
        if raw is None:
            return None
        try:
            return StreamKey.parse(raw)
        except ValueError as error:
            raise FrameError("invalid", str(error)) from None

    def _own_stream(self, channel_id: int, requested: StreamKey | None) -> str:
        """The stream this tab follows in `channel_id` (the one named, when it follows several)."""
        if requested is not None:
            if requested.channel_id == channel_id and str(requested) in self.following:
                return str(requested)
            raise FrameError("not_found", "You do not follow that stream.")
        keys = [key for key in self.following if StreamKey.parse(key).channel_id == channel_id]
        if len(keys) == 1:
            return keys[0]
        if not keys:
            raise FrameError("not_found", "You do not follow that channel here; subscribe or join first.")
        raise FrameError("invalid", "You sit in several sub-channels here: name the `stream`.")

    async def _heartbeat(self) -> None:
        now = time.monotonic()
        if now - self.last_heartbeat >= HEARTBEAT_EVERY_SECONDS:
            self.last_heartbeat = now
            await realtime.presence_heartbeat(self.user, self.connection_id)
