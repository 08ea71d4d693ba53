"""Read markers and unread counts, per stream: constant queries whatever the number of channels."""

from __future__ import annotations

from django.db import transaction
from django.db.models import Count, F

from chat import events, policy
from chat.exceptions import InvalidRequest
from chat.models import Message, ReadMarker
from chat.services.access import get_channel_access
from chat.services.reads import member_stream_keys
from chat.streams import StreamKey


def mark_read(*, actor, key: StreamKey, seq: int) -> tuple[int, int]:
    """Move the reader's marker up to `seq` (never down); returns (marker, unread count)."""
    access = get_channel_access(actor, key.channel_id)
    if not policy.can_read_stream(access, key):
        raise InvalidRequest("You do not read that stream.")
    with transaction.atomic():
        marker = advance_marker(actor, key, seq)
    return marker, unread_count(actor, key, marker)


def advance_marker(actor, key: StreamKey, seq: int) -> int:
    last = events.last_seq(key)
    seq = max(0, min(seq, last))
    marker, created = ReadMarker.objects.get_or_create(user=actor, stream_id=str(key), defaults={"last_read_seq": seq})
    if not created and marker.last_read_seq < seq:
        ReadMarker.objects.filter(pk=marker.pk, last_read_seq__lt=seq).update(last_read_seq=seq)
        return seq
    return marker.last_read_seq


def unread_count(user, key: StreamKey, marker: int) -> int:
    return Message.objects.unread_by(user).filter(stream_id=str(key), seq__gt=marker).count()


def unread_by_channel(user) -> dict[int, tuple[str, int]]:
    """Per channel: the stream to watch for new messages and the unread count over all of the
    person's streams there (a moderator may sit in several sub-channels). Constant queries."""
    keys = [StreamKey.parse(raw) for raw in member_stream_keys(user)]
    by_channel: dict[int, tuple[str, int]] = {}
    for raw, count in unread_counts(user, keys).items():
        channel_id = StreamKey.parse(raw).channel_id
        first, total = by_channel.get(channel_id, (raw, 0))
        by_channel[channel_id] = (first, total + count)
    return by_channel


def unread_counts(user, keys: list[StreamKey]) -> dict[str, int]:
    """Unread messages per stream key in two grouped queries, whatever the number of channels."""
    key_strings = [str(key) for key in keys]
    if not key_strings:
        return {}
    markers = dict(
        ReadMarker.objects.filter(user=user, stream_id__in=key_strings).values_list("stream_id", "last_read_seq")
    )
    unread = Message.objects.unread_by(user)
    never_read = unread.filter(stream_id__in=[key for key in key_strings if key not in markers])
    # One filter() call, so the seq comparison uses this user's marker row of the same join.
    past_marker = unread.filter(
        stream_id__in=list(markers),
        stream__read_markers__user=user,
        seq__gt=F("stream__read_markers__last_read_seq"),
    )
    counts = dict.fromkeys(key_strings, 0)
    for query in (never_read, past_marker):
        for stream_id, count in query.values("stream_id").annotate(count=Count("pk")).values_list("stream_id", "count"):
            counts[stream_id] = count
    return counts
