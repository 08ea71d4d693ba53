"""What a reconnecting socket is sent: the stored events of a stream after a seq, or a refusal."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.conf import settings

from chat import events, policy
from chat.exceptions import ChannelNotFound
from chat.models import StreamEvent
from chat.services.access import get_channel_access
from chat.streams import StreamKey


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
