"""The one place chat events are recorded and published.

A stream event (message.*, member.*, channel.updated) gets the stream's next `seq` and is
stored in the transaction that makes the change, then sent to the stream's group only after
that transaction commits, so nothing is announced that could roll back and a reconnecting
client can be replayed exactly what it missed. Notices to one person (their streams changed,
they were moved) go to their personal group, also after commit, and are not stored.
"""

from __future__ import annotations

import contextlib
import json
import logging
import threading
import time
from collections.abc import Iterable, Iterator
from functools import partial
from typing import TYPE_CHECKING, Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.contrib.auth import get_user_model
from django.db import connection, transaction

from chat.streams import StreamKey, user_group

if TYPE_CHECKING:
    from chat.models import Channel, Message, StreamEvent

log = logging.getLogger(__name__)


# Sequenced stream events


def next_seq(key: StreamKey) -> int:
    """Take the stream's next sequence number in one statement; on PostgreSQL the row stays locked
    until the transaction ends, and SQLite's IMMEDIATE transactions already serialise writers."""
    from chat.models import Stream

    table = connection.ops.quote_name(Stream._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(f"UPDATE {table} SET last_seq = last_seq + 1 WHERE key = %s RETURNING last_seq", [str(key)])  # noqa: S608
        row = cursor.fetchone()
    if row is not None:
        return row[0]
    # A stream made before streams were opened eagerly (or by a direct insert): open it, then take 1.
    open_stream(key)
    return next_seq(key)


def last_seq(key: StreamKey) -> int:
    from chat.models import Stream

    return Stream.objects.filter(pk=str(key)).values_list("last_seq", flat=True).first() or 0


def store(
    key: StreamKey, seq: int, event_type: str, body: dict[str, Any], message: Message | None = None
) -> StreamEvent:
    """Keep the event for replay and send it to the stream's group once the transaction commits."""
    from chat.models import StreamEvent

    event = StreamEvent.objects.create(stream_id=str(key), seq=seq, type=event_type, body=body, message=message)
    frame = stream_frame(event)
    transaction.on_commit(lambda: send_group(key.group, "stream.event", frame))
    return event


def record(key: StreamKey, event_type: str, body: dict[str, Any], message: Message | None = None) -> StreamEvent:
    """Take the next seq and store the event: for writes that need not know the seq beforehand."""
    return store(key, next_seq(key), event_type, body, message)


def stream_frame(event: StreamEvent) -> dict[str, Any]:
    return {"type": event.type, "stream": event.stream_id, "seq": event.seq, **event.body}


# Unsequenced notices


def notify_user(user_id: int, frame: dict[str, Any]) -> None:
    transaction.on_commit(lambda: send_group(user_group(user_id), "user.event", frame))


def notify_streams_changed(user_ids: Iterable[int], **details: Any) -> None:
    """Tell each person's open tabs to re-read which streams they follow."""
    for user_id in set(user_ids):
        notify_user(user_id, {"type": "streams.changed", **details})


def send_live(keys: Iterable[StreamKey], frame: dict[str, Any]) -> None:
    groups = [key.group for key in keys]
    transaction.on_commit(lambda: [send_group(group, "stream.live", frame) for group in groups])


def group_message(group: str, handler: str, frame: dict[str, Any]) -> dict[str, Any]:
    """A channel-layer message: the frame encoded once for every recipient, plus the group (each
    process's hub routes on it, chat/realtime/hub.py) and the few fields consumers decide on. Only a
    person's own notices carry the frame itself."""
    message = {
        "type": handler,
        "group": group,
        "text": json.dumps(frame, separators=(",", ":"), ensure_ascii=False),
        "kind": frame["type"],
        "stream": frame.get("stream"),
        "seq": frame.get("seq"),
        "channel": frame.get("channel"),
        "user_id": (frame.get("user") or {}).get("id"),
        # When it was published, just after its commit: each socket write measures delivery latency from it.
        "at": time.time(),
    }
    if handler == "user.event":
        message["frame"] = frame
    return message


_together = threading.local()


@contextlib.contextmanager
def publishing_together() -> Iterator[None]:
    """What `send_group` publishes inside (the commits of a batch of sends, chat/services/send_batch.py)
    goes to the layer when it ends, in order, with one hop to the event loop instead of one each."""
    if getattr(_together, "pending", None) is not None:
        yield  # already gathering: the outer one publishes
        return
    _together.pending = []
    try:
        yield
    finally:
        pending, _together.pending = _together.pending, None
        if pending:
            layer = get_channel_layer()
            try:
                if layer is not None:
                    async_to_sync(_send_all)(layer, pending)
            except Exception:  # committed and stored all the same: clients catch up through sync
                log.exception("event=publish_failed count=%s", len(pending))


async def _send_all(layer, pending: list[tuple[str, dict[str, Any]]]) -> None:
    for group, message in pending:
        try:
            await layer.group_send(group, message)
        except Exception:
            log.exception("event=publish_failed group=%s type=%s", group, message.get("kind"))


def send_group(group: str, handler: str, frame: dict[str, Any]) -> None:
    """From synchronous code, after commit: never fails the request that made the change."""
    layer = get_channel_layer()
    if layer is None:
        return
    pending = getattr(_together, "pending", None)
    if pending is not None:
        pending.append((group, group_message(group, handler, frame)))
        return
    try:
        # Encoded here, in the request's thread, not on the event loop that serves the sockets.
        async_to_sync(layer.group_send)(group, group_message(group, handler, frame))
    except Exception:
        # The change is committed and stored; clients catch up through sync.
        log.exception("event=publish_failed group=%s type=%s", group, frame.get("type"))


async def asend_group(group: str, handler: str, frame: dict[str, Any]) -> bool:
    """From the event loop (typing, unread counts, presence): never fails the frame that sent it.
    False when the layer could not take it (Redis down): these notices are momentary, not stored."""
    layer = get_channel_layer()
    if layer is None:
        return False
    try:
        await layer.group_send(group, group_message(group, handler, frame))
    except Exception as error:
        log.warning("event=publish_failed group=%s type=%s error=%r", group, frame.get("type"), error)
        return False
    return True


# Channel and membership changes from the channel services


def publish_on_commit(channel: Channel, event_type: str, payload: dict[str, Any]) -> None:
    """Turn a channel-service change into the protocol's events (called inside its transaction)."""
    handler = _CHANNEL_EVENTS.get(event_type)
    if handler is not None:
        handler(channel, payload)
    transaction.on_commit(partial(_deliver, {"type": event_type, "channel_id": channel.pk, **payload}))


def _deliver(event: dict[str, Any]) -> None:
    # The structured log line of every channel change, once it has committed.
    log.info("event=%s channel=%s payload=%s", event["type"], event["channel_id"], json.dumps(event, default=str))


def _user_ref(user_id: int) -> dict[str, Any]:
    username = get_user_model().objects.filter(pk=user_id).values_list("username", flat=True).first()
    return {"id": user_id, "username": username}


def _membership_streams(channel: Channel, user_ids: Iterable[int]) -> dict[int, tuple[dict, list[StreamKey]]]:
    """Each person's reference and streams in `channel`: the channel, their sub-channel, or their
    moderator seats. One query, plus one for seats only when an elastic moderator is among them."""
    from chat.models import Membership, ModeratorSeat

    found: dict[int, tuple[dict, list[StreamKey]]] = {}
    seatless = []
    rows = Membership.objects.filter(channel=channel, user_id__in=list(user_ids))
    for user_id, username, subchannel_id in rows.values_list("user_id", "user__username", "subchannel_id"):
        if not channel.is_elastic:
            keys = [StreamKey(channel.pk)]
        elif subchannel_id is not None:
            keys = [StreamKey(channel.pk, subchannel_id)]
        else:
            keys = []
            seatless.append(user_id)
        found[user_id] = ({"id": user_id, "username": username}, keys)
    if seatless:
        seats = ModeratorSeat.objects.filter(membership__channel=channel, membership__user_id__in=seatless)
        for user_id, subchannel_id in seats.values_list("membership__user_id", "subchannel_id"):
            found[user_id][1].append(StreamKey(channel.pk, subchannel_id))
    return found


def _channel_streams(channel: Channel) -> list[StreamKey]:
    from chat.models import Stream

    if not channel.is_elastic:
        return [StreamKey(channel.pk)]
    return [
        StreamKey(channel.pk, sub)
        for sub in Stream.objects.filter(channel=channel).values_list("subchannel_id", flat=True)
    ]


def _members_joined(channel: Channel, payload: dict[str, Any]) -> None:
    for user, keys in _membership_streams(channel, payload["user_ids"]).values():
        for key in keys:
            record(key, "member.joined", {"channel": channel.pk, "user": user})
    notify_streams_changed(payload["user_ids"], channel=channel.pk)


_LEAVE_EVENTS = {"left": "member.left", "removed": "member.removed", "banned": "member.banned"}


def _member_gone(channel: Channel, payload: dict[str, Any]) -> None:
    event_type = _LEAVE_EVENTS.get(payload.get("reason"), "member.left")
    user = _user_ref(payload["user_id"])
    for raw in payload.get("streams", [str(channel.pk)]):
        record(StreamKey.parse(raw), event_type, {"channel": channel.pk, "user": user})
    notify_streams_changed([payload["user_id"]], channel=channel.pk)


def _member_role(channel: Channel, payload: dict[str, Any]) -> None:
    user_id = payload["user_id"]
    user, keys = _membership_streams(channel, [user_id]).get(user_id, ({}, []))
    for key in keys:
        record(key, "member.role", {"channel": channel.pk, "user": user, "role": payload["role"]})
    notify_streams_changed([user_id], channel=channel.pk)


def _channel_updated(channel: Channel, payload: dict[str, Any]) -> None:
    changed = {"name": channel.name, "mode": channel.mode, "slow_mode_seconds": channel.slow_mode_seconds}
    for key in _channel_streams(channel):
        record(key, "channel.updated", {"channel": channel.pk, **changed})


def _channel_deleted(channel: Channel, payload: dict[str, Any]) -> None:
    # The streams go with the channel, so this is sent live only; a later sync answers not_found.
    send_live(_channel_streams(channel), {"type": "channel.deleted", "channel": channel.pk})


def _member_moved(channel: Channel, payload: dict[str, Any]) -> None:
    notify_user(
        payload["user_id"],
        {
            "type": "member.moved",
            "channel": channel.pk,
            "from": payload["from"],
            "to": payload["to"],
            "stream": str(StreamKey(channel.pk, payload["subchannel_id"])),
        },
    )
    notify_streams_changed([payload["user_id"]], channel=channel.pk)


def _seated(channel: Channel, payload: dict[str, Any]) -> None:
    notify_streams_changed([payload["user_id"]], channel=channel.pk)


def _created(channel: Channel, payload: dict[str, Any]) -> None:
    from chat.models import SubChannel

    # Streams exist from the start, so taking a seq is always a single UPDATE.
    if channel.is_elastic:
        for subchannel_id in SubChannel.objects.filter(channel=channel).values_list("pk", flat=True):
            open_stream(StreamKey(channel.pk, subchannel_id))
    else:
        open_stream(StreamKey(channel.pk))
    notify_streams_changed([payload["by"]], channel=channel.pk)


def _subchannel_opened(channel: Channel, payload: dict[str, Any]) -> None:
    open_stream(StreamKey(channel.pk, payload["subchannel_id"]))


def open_stream(key: StreamKey) -> None:
    from chat.models import Stream

    Stream.objects.get_or_create(
        key=str(key), defaults={"channel_id": key.channel_id, "subchannel_id": key.subchannel_id}
    )


_CHANNEL_EVENTS = {
    "channel.created": _created,
    "subchannel.opened": _subchannel_opened,
    "channel.updated": _channel_updated,
    "channel.deleted": _channel_deleted,
    "membership.created": _members_joined,
    "membership.deleted": _member_gone,
    "membership.updated": _member_role,
    "membership.moved": _member_moved,
    "moderator.seated": _seated,
}
