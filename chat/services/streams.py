"""Moving a stream's history into another (elastic scale-in keeps every message)."""

from __future__ import annotations

from bisect import bisect_right

from chat import events
from chat.models import Channel, Message, ReadMarker, Stream, StreamEvent
from chat.services.payloads import message_payload
from chat.streams import StreamKey


def merge_streams(*, channel: Channel, from_subchannel_id: int, into_subchannel_id: int) -> int:
    """Append the merged sub-channel's messages to the target stream, renumbered after its last seq.

    Each moved message gets a stored `message.created` in the target stream so replay stays
    gap-free; live clients get one `stream.merged` event rather than thousands of frames. Read
    markers follow: a moved reader keeps exactly the unread they had, and a target reader who
    was caught up stays caught up. Call inside the scale-in transaction. Returns messages moved.
    """
    source, target = StreamKey(channel.pk, from_subchannel_id), StreamKey(channel.pk, into_subchannel_id)
    # History written before the stream existed (or by direct inserts) moves along too.
    unsequenced = Message.objects.filter(subchannel_id=from_subchannel_id, stream__isnull=True).update(
        subchannel_id=into_subchannel_id
    )
    moved = list(Message.objects.with_author().filter(stream_id=str(source)).order_by("seq"))
    old_seqs = [message.seq for message in moved]
    base = events.next_seq(target) - 1
    for offset, message in enumerate(moved, start=1):
        message.seq, message.stream_id, message.subchannel_id = base + offset, str(target), into_subchannel_id
    Message.objects.bulk_update(moved, ["seq", "stream", "subchannel"], batch_size=500)
    StreamEvent.objects.bulk_create(
        [
            StreamEvent(
                stream_id=str(target),
                seq=message.seq,
                type="message.created",
                body={"channel": channel.pk, "message": message_payload(message)},
                message=message,
            )
            for message in moved
        ],
        batch_size=500,
    )
    end = base + len(moved)
    Stream.objects.filter(pk=str(target)).update(last_seq=end)
    ReadMarker.objects.filter(stream_id=str(target), last_read_seq=base).update(last_read_seq=end)
    for marker in ReadMarker.objects.filter(stream_id=str(source)):
        carried = base + bisect_right(old_seqs, marker.last_read_seq)
        ReadMarker.objects.update_or_create(
            user_id=marker.user_id, stream_id=str(target), defaults={"last_read_seq": carried}
        )
    events.record(target, "stream.merged", {"channel": channel.pk, "from": str(source), "messages": len(moved)})
    return unsequenced + len(moved)
