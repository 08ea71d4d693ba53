"""The one WebSocket per browser tab (docs/protocol.md): a table of frame handlers, each a thin
call into chat/services.

A socket has no channel of its own in the channel layer: this process's hub (hub.py) joins
each group once and hands its messages to `deliver`; delivery.py handles them in the socket's
turn (turns.py), exactly once and in order per stream, and heads.py tells it now and then (and
after a channel-layer outage) the latest seq of its streams. However a socket ends (a close, an
error in the consumer, the server cancelling it, its session ending: sessions.py), the hub and
presence forget it.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from channels.consumer import get_handler_name
from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from chat import events
from chat.exceptions import ChatError
from chat.realtime import heads, presence, reactions, replay, sessions, socket_db
from chat.realtime.delivery import RESYNC_REASON, WRITE_FRAME, Deliveries
from chat.realtime.following import Following
from chat.realtime.frames import FrameError, error_code, field, own_stream, parse_frame, positive_id, stream_field
from chat.realtime.hub import current_hub
from chat.realtime.turns import DeliveryQueue
from chat.services import messages as message_service
from chat.services import presence as presence_store
from chat.services import read_markers, reads
from chat.services.send_batch import SendRequest
from chat.streams import StreamKey, user_group
from hobbies import metrics

log = logging.getLogger(__name__)

CLOSE_NOT_SIGNED_IN = sessions.CLOSE_SIGNED_OUT
TYPING_DEBOUNCE_SECONDS = 2.0
HEARTBEAT_EVERY_SECONDS = 20.0
SERVER_ERROR = "Something went wrong; nothing was changed."
COUNTED_FRAMES = frozenset({"message.send", "message.edit"})  # hobbies_message_errors_total


class ChatConsumer(Deliveries, AsyncJsonWebsocketConsumer):
    # No channel per socket (an alias with no layer configured makes Channels open none):
    # the hub delivers this socket's group messages to `deliver`.
    channel_layer_alias = None

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.connection_id = uuid.uuid4().hex  # this socket in the presence store
        self.queue = DeliveryQueue(self._handle_delivery, self._must_wait)
        self.ended = False  # closed or closing: no frame is answered, nothing is delivered
        self.forgotten = False
        self.idle = False  # the tab says nobody has used it for a while (`presence.idle`)

    async def __call__(self, scope, receive, send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            # However the socket ends (a close, an error here, the server cancelling us), forget it.
            await asyncio.shield(self._forget())

    async def connect(self) -> None:
        self.user = self.scope.get("user")
        if self.user is None or not self.user.is_authenticated:
            await self.accept()
            await self.close(code=CLOSE_NOT_SIGNED_IN)
            return
        hub = current_hub()
        self.streams = Following(hub, self)
        metrics.connection_opened()  # closed in _forget, which runs once whenever `streams` is set
        self.following = self.streams.seqs  # stream key -> last seq sent to this tab
        self.write_frame = self.scope.get(WRITE_FRAME)
        self.typing_sent: dict[str, float] = {}
        self.last_heartbeat = time.monotonic()
        await self.accept()
        await self.streams.join(user_group(self.user.pk))
        # Read with the session by the sign-in (sessions.py), or here. Joining a group after its
        # seqs were read, a publication between the two is missed: the hub's seq of a group it was
        # in already tells (repaired in this socket's next turn); a group it joins now is read again.
        keys, seqs = self.scope.get(sessions.STREAMS) or (None, None)
        if keys is None:
            keys = await database_sync_to_async(reads.member_stream_keys)(self.user)
        new = [key for key in keys if StreamKey.parse(key).group not in hub.groups]
        await self.streams.follow(keys, member=True)
        if seqs is None or new:
            seqs = {**(seqs or {}), **await database_sync_to_async(reads.last_seqs)(keys if seqs is None else new)}
        self.following.update(seqs)
        missed = {key: hub.handed[key] for key in keys if hub.handed.get(key, 0) > seqs[key]}
        hub.note_handed(seqs)
        await presence.presence_connected(self.user, self.connection_id, self.streams.member)
        heads.watch(self.streams.hub)
        sessions.watch(self)
        await self.send_json(
            {"type": "hello", "user": {"id": self.user.pk, "username": self.user.username}, "streams": self.following}
        )
        if missed:
            await self.queue.deliver({"type": "stream.heads", "heads": missed, "recovered": False})

    async def disconnect(self, code: int) -> None:
        await self._forget()

    async def end(self, code: int) -> None:
        """Close the socket with `code` and stop serving it at once."""
        if self.ended:
            return
        self.ended = True
        await self.close(code=code)
        await self._forget()

    async def session_ended(self, frame: dict) -> None:
        """`session.ended` on this person's group (sessions.py): close if it names this socket's session."""
        if sessions.concerns(frame, getattr(self.scope.get("session"), "session_key", None)):
            log.info("event=socket_session_ended user=%s by=signal", self.user.pk)
            await self.end(CLOSE_NOT_SIGNED_IN)

    async def _forget(self) -> None:
        if self.forgotten or not hasattr(self, "streams"):
            return  # already, or refused in connect (not signed in): nothing was joined
        self.forgotten = self.ended = True
        metrics.connection_closed()
        self.queue.clear()
        sessions.unwatch(self)
        try:
            await self.streams.leave_all()
            await presence.presence_disconnected(self.user, self.connection_id, self.streams.member)
        except Exception:
            log.exception("event=socket_cleanup_failed user=%s", self.user.pk)

    async def dispatch(self, message: dict) -> None:
        # Channels' dispatch also hops to a thread to close stale database connections before
        # every message; here the database is reached only through database_sync_to_async, which
        # does that itself around each call.
        handler = getattr(self, get_handler_name(message), None)
        if handler is None:
            raise ValueError(f"No handler for message type {message['type']}")
        async with self.queue.turn:
            await handler(message)

    # Frames from the browser

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        if self.ended:
            return
        try:
            frame = parse_frame(text_data)
        except FrameError as error:
            await self.send_error(error.code, error.message)
            return
        except Exception:
            log.exception("event=frame_failed type=unread user=%s", self.user.pk)
            await self.send_error("server_error", SERVER_ERROR)
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
        client_msg_id = content.get("client_msg_id") if isinstance(content.get("client_msg_id"), str) else None
        try:
            await self._heartbeat()
            await handler(self, content)
        except FrameError as error:
            if frame_type in COUNTED_FRAMES:  # refused before the service (which counts its own refusals)
                metrics.message_error(error.code)
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
            await self.send_error("server_error", SERVER_ERROR, ref=frame_type, client_msg_id=client_msg_id)

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
        stream = stream_field(frame)
        reply_to = field(frame, "reply_to", int, required=False)
        # Stored with the sends of the process's other sockets in one transaction (socket_db.py),
        # answered once that has committed, with the message as the event carries it.
        request = SendRequest(self.user, channel_id, content, client_msg_id, metadata, stream, attachment_ids, reply_to)
        outcome = await socket_db.send_batcher().send(request)
        if outcome.error is not None:
            raise outcome.error
        message = outcome.result.payload
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
        key = own_stream(self.following, positive_id(frame, "channel"), stream_field(frame))
        now = time.monotonic()
        if now - self.typing_sent.get(key, 0.0) < TYPING_DEBOUNCE_SECONDS:
            return  # debounced: at most one typing notice per stream every 2 s
        await database_sync_to_async(message_service.check_typing)(actor=self.user, key=StreamKey.parse(key))
        self.typing_sent[key] = now
        typing = {
            "type": "typing",
            "stream": key,
            "channel": StreamKey.parse(key).channel_id,
            "user": {"id": self.user.pk, "username": self.user.username},
        }
        await events.asend_group(StreamKey.parse(key).group, "stream.live", typing)

    async def on_channel_subscribe(self, frame: dict) -> None:
        key = await database_sync_to_async(reads.viewing_stream)(self.user, positive_id(frame, "channel"))
        if key not in self.following:
            await self.streams.follow([key], member=False)
            self.following[key] = (await database_sync_to_async(reads.last_seqs)([key]))[key]
        await self._send_stream_added(key)

    async def on_channel_unsubscribe(self, frame: dict) -> None:
        channel_id = positive_id(frame, "channel")
        for key in self.streams.in_channel(channel_id, self.streams.viewing):
            await self.streams.unfollow(key)

    async def on_read(self, frame: dict) -> None:
        key = StreamKey.parse(own_stream(self.following, positive_id(frame, "channel"), stream_field(frame)))
        seq = field(frame, "seq", int)
        marker, count = await database_sync_to_async(read_markers.mark_read)(actor=self.user, key=key, seq=seq)
        unread = {
            "type": "unread",
            "channel": key.channel_id,
            "stream": str(key),
            "count": count,
            "last_read_seq": marker,
        }
        # Every tab of this person updates its counts (this one at least, while Redis is down).
        if not await events.asend_group(user_group(self.user.pk), "user.event", unread):
            await self.send_json(unread)

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
            replayed = await database_sync_to_async(replay.replay)(self.user, key, seq)
            if replayed is None:
                await self.send_error(
                    "not_found", "That stream does not exist or is not visible to you.", ref="sync", stream=raw
                )
            elif replayed.too_far_behind:
                await self.send_json({"type": "resync", "stream": raw, "reason": RESYNC_REASON})
            else:
                for event_frame in replayed.frames:
                    await self.send_json(event_frame)
                reached[raw] = replayed.reached
                if raw in self.following:
                    self.following[raw] = max(self.following[raw], replayed.reached)
        await self.send_json({"type": "sync.done", "streams": reached})

    async def on_presence_set(self, frame: dict) -> None:
        status = field(frame, "status", str)
        text = field(frame, "text", str, required=False) or ""
        if status not in presence_store.STATUSES:
            raise FrameError("invalid", "`status` is online or away.")
        if len(text) > presence_store.MAX_STATUS_TEXT:
            raise FrameError("invalid", f"A status text can be at most {presence_store.MAX_STATUS_TEXT} characters.")
        await presence.presence_set(self.user, presence_store.Presence(status, text.strip()), self.streams.member)

    async def on_presence_idle(self, frame: dict) -> None:
        if not isinstance(frame.get("idle"), bool):
            raise FrameError("invalid", "`idle` is true or false.")
        self.idle = frame["idle"]
        await presence.presence_idle(self.user, self.connection_id, self.idle, self.streams.member)

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
        "presence.idle": on_presence_idle,
        "ping": on_ping,
        **reactions.HANDLERS,
    }

    async def _heartbeat(self) -> None:
        now = time.monotonic()
        if now - self.last_heartbeat >= HEARTBEAT_EVERY_SECONDS:
            self.last_heartbeat = now
            await presence.presence_heartbeat(self.user, self.connection_id, idle=self.idle)
