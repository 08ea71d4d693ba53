"""What the WebSocket consumer reads: the streams a person follows, replay, and presence fan-out."""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

from asgiref.sync import sync_to_async
from django.conf import settings

from chat import events, policy
from chat.exceptions import ChannelNotFound
from chat.models import Membership, ModeratorSeat, Stream, StreamEvent, SubChannel
from chat.presence import Presence, presence_store
from chat.services.access import get_channel_access
from chat.streams import StreamKey

log = logging.getLogger(__name__)


def member_stream_keys(user) -> list[str]:
    """Every stream `user` receives as a member: channels, their elastic seat, their moderator seats."""
    keys = []
    for channel_id, subchannel_id, is_elastic in Membership.objects.filter(user=user).values_list(
        "channel_id", "subchannel_id", "channel__channel_type"
    ):
        if is_elastic != "elastic":
            keys.append(str(StreamKey(channel_id)))
        elif subchannel_id is not None:
            keys.append(str(StreamKey(channel_id, subchannel_id)))
    seats = ModeratorSeat.objects.filter(membership__user=user).values_list("membership__channel_id", "subchannel_id")
    keys.extend(str(StreamKey(channel_id, subchannel_id)) for channel_id, subchannel_id in seats)
    return keys


def last_seqs(keys: Iterable[str]) -> dict[str, int]:
    keys = list(keys)
    found = dict(Stream.objects.filter(key__in=keys).values_list("key", "last_seq"))
    return {key: found.get(key, 0) for key in keys}


def viewing_stream(user, channel_id: int, requested: StreamKey | None = None) -> str:
    """The stream a person reads in a channel: the channel's own; in an elastic channel their seat,
    the sub-channel they asked for (moderators, admins, public visitors), or the first open one."""
    access = get_channel_access(user, channel_id)
    channel = access.channel
    if not channel.is_elastic:
        return str(StreamKey(channel.pk))
    if requested is not None and requested.channel_id == channel.pk and policy.can_read_stream(access, requested):
        return str(requested)
    if access.membership is not None and access.membership.subchannel_id is not None:
        return str(StreamKey(channel.pk, access.membership.subchannel_id))
    first = (
        SubChannel.objects.filter(channel=channel, is_open=True).order_by("number").values_list("pk", flat=True).first()
    )
    if first is None:
        raise ChannelNotFound()
    return str(StreamKey(channel.pk, first))


@dataclass(frozen=True)
class Replay:
    frames: list[dict] = field(default_factory=list)
    reached: int = 0
    too_far_behind: bool = False


def replay(user, key: StreamKey, after_seq: int) -> Replay | None:
    """The stored events of `key` after `after_seq`, or None when `user` may not read that stream."""
    try:
        access = get_channel_access(user, key.channel_id)
    except ChannelNotFound:
        return None
    if not policy.can_read_stream(access, key):
        return None
    limit = settings.SYNC_REPLAY_LIMIT
    stored = list(StreamEvent.objects.filter(stream_id=str(key), seq__gt=after_seq).order_by("seq")[: limit + 1])
    if len(stored) > limit:
        return Replay(too_far_behind=True)
    reached = stored[-1].seq if stored else max(after_seq, events.last_seq(key))
    return Replay(frames=[events.stream_frame(event) for event in stored], reached=reached)


def events_between(key: str, after_seq: int, before_seq: int) -> list[dict]:
    stored = StreamEvent.objects.filter(stream_id=key, seq__gt=after_seq, seq__lt=before_seq).order_by("seq")
    return [events.stream_frame(event) for event in stored]


# Presence: changes are batched per stream and flushed every PRESENCE_FLUSH_SECONDS.


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


async def presence_heartbeat(user, connection: str) -> None:
    await _store_call("heartbeat")(user.pk, connection)


async def presence_set(user, status: Presence, keys: Iterable[str]) -> None:
    await _store_call("set_status")(user.pk, status)
    broadcaster.note(user, keys)
