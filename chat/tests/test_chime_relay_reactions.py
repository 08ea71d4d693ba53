"""manage.py chime_relay with replies and reactions (issue 17; docs/chime.md): Chime's records on
moto's Kinesis (real HTTP, two real shards), a reaction ahead of its message in the other shard,
duplicates, our own reaction coming back: applied once each, reactions never stored as messages,
every stream event numbered without gaps and published once."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command

from chat.models import Message, Reaction, StreamEvent
from chat.services import reactions
from tests.rig.chime import ADMIN_ARN, CHANNEL_ARN
from tests.rig.kinesis import message_record

pytestmark = pytest.mark.django_db


def relay_once(chime_room) -> None:
    with chime_room.capture(execute=True):
        call_command("chime_relay", "--once", "--allow-memory-layer", stdout=io.StringIO())


def created(message_id, content, *, sender="ann", at=0, metadata=None):
    return message_record(
        "CREATE_CHANNEL_MESSAGE", CHANNEL_ARN, message_id, content=content, sender=sender, at=at, metadata=metadata
    )


def reaction(reaction_id, op, emoji="-", *, sender="ann", target="m-1", at=10):
    metadata = {"kind": "reaction", "op": op, "target": target, "client_msg_id": f"c-{reaction_id}"}
    return created(reaction_id, emoji, sender=sender, at=at, metadata=metadata)


def test_replies_and_reactions_from_chime_are_applied_once_whatever_the_delivery(stream, chime_room):
    # Two reactions travel in the first shard, ahead of their message in the last one; the outcome
    # is the same whichever shard the relay reads first.
    writes = [
        (reaction("r-1", "add", "👍", at=3), "first"),
        (reaction("r-2", "add", "🎉", sender="mod", at=5), "first"),
        (created("m-3", "and me", sender="bob", at=4, metadata={"reply_to": "m-gone"}), "first"),
        (created("m-1", "who brings the wool?", sender="mod", at=1), "last"),
        (created("m-2", "me!", at=2, metadata={"reply_to": "m-1"}), "last"),
        (reaction("r-1", "add", "👍", at=3), "last"),  # the same record again
        (reaction("r-3", "add", "🧶", sender="mod", target="m-2", at=6), "last"),
        (reaction("r-4", "remove", "👍", at=7), "last"),
        (reaction("r-4", "remove", "👍", at=7), "last"),
        (reaction("r-5", "clear", sender=ADMIN_ARN, target="m-2", at=8), "last"),
    ]
    for record, shard in writes:
        stream.put(record, shard=shard)
    relay_once(chime_room)
    relay_once(chime_room)  # the parked reaction's target has arrived by now
    relay_once(chime_room)  # nothing new: nothing happens

    original, answer, orphan = Message.objects.order_by("chime_message_id")
    assert [item.chime_message_id for item in (original, answer, orphan)] == ["m-1", "m-2", "m-3"]
    assert answer.reply_to_id == original.pk
    assert orphan.reply_to_id == 0  # its original never reached us: "(original deleted)"
    assert list(Reaction.objects.values_list("message__chime_message_id", "user__username", "emoji")) == [
        ("m-1", "mod", "🎉")
    ]

    key = str(chime_room.channel.pk)
    stored = list(StreamEvent.objects.filter(stream_id=key).order_by("seq").values_list("seq", "type"))
    assert [seq for seq, _ in stored] == list(range(1, len(stored) + 1))  # no gap, no repeat
    kinds = [kind for _, kind in stored]
    assert kinds.count("message.created") == 3
    assert sorted(kind for kind in kinds if kind.startswith("reaction.")) == [
        "reaction.added",
        "reaction.added",
        "reaction.added",
        "reaction.cleared",
        "reaction.removed",
    ]
    live = [(frame["seq"], frame["type"]) for frame in chime_room.published if "seq" in frame]
    assert live == stored  # published once each, after commit, in order
    created_frames = {
        frame["message"]["id"]: frame for frame in chime_room.published if frame["type"] == "message.created"
    }
    assert created_frames[answer.pk]["message"]["reply_to"]["excerpt"] == "who brings the wool?"
    assert created_frames[orphan.pk]["message"]["reply_to"]["deleted"] is True
    # The original's author hears of the reply, once.
    notices = [frame for frame in chime_room.published if frame["type"] == "reply"]
    assert [notice["message"] for notice in notices] == [{"id": answer.pk, "reply_to": original.pk}]


def test_our_own_reaction_coming_back_on_the_stream_changes_nothing(stream, chime_room, chime):
    stream.put(created("m-1", "wool"))
    relay_once(chime_room)
    message = Message.objects.get()
    chime.expect("send_channel_message", {"MessageId": "r-ours", "Status": {"Value": "SENT"}})
    chime.expect("send_channel_message", {"MessageId": "r-ours-2", "Status": {"Value": "SENT"}})
    with chime_room.capture(execute=True):
        reactions.add_reaction(actor=chime_room.ann, message_id=message.pk, emoji="👍")
        reactions.remove_reaction(actor=chime_room.ann, message_id=message.pk, emoji="👍")
    before = list(StreamEvent.objects.order_by("seq").values_list("seq", "type"))
    # Chime's copies, the add read after the removal: the 👍 must not come back.
    stream.put(reaction("r-ours", "add", "👍"))
    stream.put(reaction("r-ours-2", "remove", "👍"), shard="last")
    relay_once(chime_room)
    assert not Reaction.objects.exists()
    assert list(StreamEvent.objects.order_by("seq").values_list("seq", "type")) == before
