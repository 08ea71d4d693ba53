"""manage.py chime_relay: Chime's event stream on moto's Kinesis (real HTTP, two real shards)
applied through the services, with duplicates, records reordered across shards, and a relay
killed and restarted mid-stream: nothing applied twice, nothing skipped, every stream's events
numbered without gaps and published once."""

from __future__ import annotations

import io

import pytest
from django.core.management import CommandError, call_command

from chat.models import Ban, ChimeShardCheckpoint, Membership, Message, StreamEvent
from chat.services import mirror
from tests.rig.chime import CHANNEL_ARN
from tests.rig.kinesis import channel_record, member_record, message_record

pytestmark = pytest.mark.django_db


class Killed(BaseException):
    """The relay process dying in the middle of a record."""


def relay_once(chime_room) -> str:
    out = io.StringIO()
    with chime_room.capture(execute=True):
        call_command("chime_relay", "--once", "--allow-memory-layer", stdout=out)
    return out.getvalue()


def message(event_type, message_id, **fields):
    return message_record(event_type, CHANNEL_ARN, message_id, sender=fields.pop("sender", "ann"), **fields)


def test_chimes_stream_is_applied_once_and_in_order_whatever_the_delivery(stream, chime_room):
    first, last = "first", "last"
    writes = [
        (message("CREATE_CHANNEL_MESSAGE", "m-1", content="one", at=1), first, False),
        (message("CREATE_CHANNEL_MESSAGE", "m-1", content="one", at=1), last, True),  # a duplicate, as a string
        # m-2's edit and redaction travel in the other shard, ahead of the message itself.
        (message("UPDATE_CHANNEL_MESSAGE", "m-2", content="two, edited", at=2, edited=5), last, False),
        (message("CREATE_CHANNEL_MESSAGE", "m-2", content="two", at=2, sender="mod"), first, False),
        (message("CREATE_CHANNEL_MESSAGE", "m-3", content="three", at=3), first, False),
        (message("REDACT_CHANNEL_MESSAGE", "m-3", at=3, edited=6, redacted=True), last, False),
        (message("CREATE_CHANNEL_MESSAGE", "m-4", content="four", at=4), first, False),
        (message("DELETE_CHANNEL_MESSAGE", "m-4", at=4, edited=7), first, False),
        (member_record("CREATE_CHANNEL_MEMBERSHIP", CHANNEL_ARN, "bob", by="mod"), last, False),
        (member_record("CREATE_CHANNEL_MEMBERSHIP", CHANNEL_ARN, "bob", by="mod"), last, False),
        (member_record("CREATE_CHANNEL_BAN", CHANNEL_ARN, "ann", by="mod"), first, False),
        (channel_record("UPDATE_CHANNEL", CHANNEL_ARN, name="Purling"), last, False),
        (message("CREATE_CHANNEL_MESSAGE", "m-5", content="from bob", at=8, sender="bob"), last, False),
    ]
    for record, shard, as_string in writes:
        stream.put(record, shard=shard, payload_as_string=as_string)

    # The first run dies after four records; the second resumes from the checkpoints.
    applied = []
    real_apply = mirror.apply_record

    def dying(data, position=None):
        if len(applied) == 4:
            raise Killed()
        applied.append(position)
        return real_apply(data, position)

    mirror.apply_record = dying
    try:
        with pytest.raises(Killed):
            relay_once(chime_room)
    finally:
        mirror.apply_record = real_apply
    assert ChimeShardCheckpoint.objects.count() >= 1
    relay_once(chime_room)
    relay_once(chime_room)  # nothing new: nothing happens
    relay_once(chime_room)

    contents = dict(Message.objects.values_list("chime_message_id", "content"))
    assert contents == {"m-1": "one", "m-2": "two, edited", "m-3": "", "m-5": "from bob"}
    assert Message.objects.get(chime_message_id="m-3").redacted_at is not None
    assert Message.objects.get(chime_message_id="m-5").author == chime_room.bob
    assert Membership.objects.filter(user=chime_room.bob).exists()
    assert not Membership.objects.filter(user=chime_room.ann).exists()
    assert Ban.objects.filter(user=chime_room.ann).exists()
    chime_room.channel.refresh_from_db()
    assert chime_room.channel.name == "Purling"

    key = str(chime_room.channel.pk)
    stored = list(StreamEvent.objects.filter(stream_id=key).order_by("seq").values_list("seq", "type"))
    assert [seq for seq, _ in stored] == list(range(1, len(stored) + 1))  # no gap, no repeat
    created = [kind for _, kind in stored].count("message.created")
    assert created == 5  # m-1 once (the duplicate was a no-op), m-2, m-3, m-4 (then deleted), m-5
    live = [(frame["seq"], frame["type"]) for frame in chime_room.published if frame.get("stream") == key]
    assert live == stored  # published once each, after commit, in order


def test_the_relay_refuses_to_run_where_browsers_would_not_hear_it(stream, settings):
    settings.REDIS_URL = ""
    with pytest.raises(CommandError, match="REDIS_URL"):
        call_command("chime_relay", "--once")
    settings.MESSAGING_BACKEND = "local"
    with pytest.raises(CommandError, match="MESSAGING_BACKEND=chime"):
        call_command("chime_relay", "--once", "--allow-memory-layer")
