"""chat/services/mirror_reactions.py: reaction messages on Chime's event stream applied as reactions,
never stored as messages, once each, parked until their target arrives, our own a no-op."""

from __future__ import annotations

import pytest

from chat.backends.chime.reactions import CLEAR_CONTENT
from chat.models import ChimeParkedEvent, Message, Reaction, StreamEvent
from chat.services import reactions as reaction_services
from tests.rig.chime import ADMIN_ARN, CHANNEL_ARN
from tests.rig.kinesis import message_record

pytestmark = pytest.mark.django_db


def created(message_id="m-1", content="wool", sender="ann", at=0):
    return message_record("CREATE_CHANNEL_MESSAGE", CHANNEL_ARN, message_id, content=content, sender=sender, at=at)


def reaction(reaction_id, op, emoji="👍", *, sender="ann", target="m-1", at=10):
    metadata = {"kind": "reaction", "op": op, "target": target, "client_msg_id": f"c-{reaction_id}"}
    content = CLEAR_CONTENT if op == "clear" else emoji
    return message_record(
        "CREATE_CHANNEL_MESSAGE", CHANNEL_ARN, reaction_id, content=content, sender=sender, at=at, metadata=metadata
    )


def counts() -> list[tuple[str, str]]:
    return list(Reaction.objects.order_by("pk").values_list("user__username", "emoji"))


def kinds(room) -> list[str]:
    return [frame["type"] for frame in room.published]


def test_another_clients_reactions_are_applied_with_the_events_a_local_change_records(chime_room):
    chime_room.apply(created())
    assert chime_room.apply(reaction("r-1", "add", "👍")) == "applied"
    assert chime_room.apply(reaction("r-2", "add", "🎉", sender="mod")) == "applied"
    assert counts() == [("ann", "👍"), ("mod", "🎉")]
    added = chime_room.published[-1]
    assert (added["type"], added["emoji"], added["user"]["username"]) == ("reaction.added", "🎉", "mod")
    assert added["reactions"] == [
        {"emoji": "👍", "count": 1, "users": ["ann"]},
        {"emoji": "🎉", "count": 1, "users": ["mod"]},
    ]
    assert chime_room.apply(reaction("r-3", "remove", "👍")) == "applied"
    assert counts() == [("mod", "🎉")]
    # A moderator's clearing, sent by the app (an AppInstanceAdmin the app knows no person for).
    assert chime_room.apply(reaction("r-4", "clear", sender=ADMIN_ARN)) == "applied"
    cleared = chime_room.published[-1]
    assert (cleared["type"], cleared["user"], cleared["reactions"]) == ("reaction.cleared", None, [])
    assert kinds(chime_room) == [
        "message.created",
        "reaction.added",
        "reaction.added",
        "reaction.removed",
        "reaction.cleared",
    ]
    assert [frame["seq"] for frame in chime_room.published] == [1, 2, 3, 4, 5]
    assert list(Message.objects.values_list("chime_message_id", flat=True)) == ["m-1"]  # never a message


@pytest.mark.parametrize("op", ["add", "remove", "clear"])
def test_a_reaction_read_twice_changes_nothing_the_second_time(chime_room, op):
    chime_room.apply(created())
    if op != "add":
        chime_room.apply(reaction("r-0", "add", "👍"))
    first = chime_room.apply(reaction("r-1", op, sender="ann" if op != "clear" else "mod"))
    before = (counts(), len(chime_room.published))
    assert first == "applied"
    assert chime_room.apply(reaction("r-1", op, sender="ann" if op != "clear" else "mod")) == "duplicate"
    assert (counts(), len(chime_room.published)) == before


def test_an_older_add_read_again_after_its_removal_does_not_bring_it_back(chime_room):
    chime_room.apply(created())
    chime_room.apply(reaction("r-1", "add"))
    chime_room.apply(reaction("r-2", "remove"))
    assert chime_room.apply(reaction("r-1", "add")) == "duplicate"  # a copy from another shard
    assert counts() == []


def test_the_same_reaction_twice_from_two_chime_messages_is_one_reaction(chime_room):
    chime_room.apply(created())
    chime_room.apply(reaction("r-1", "add"))
    assert chime_room.apply(reaction("r-2", "add")) == "duplicate"
    assert counts() == [("ann", "👍")]


def test_a_reaction_before_its_message_is_parked_until_the_message_arrives(chime_room):
    assert chime_room.apply(reaction("r-1", "add", "👍")) == "parked"
    assert chime_room.apply(reaction("r-1", "add", "👍")) == "duplicate"
    assert chime_room.apply(reaction("r-2", "add", "🎉", sender="mod", at=11)) == "parked"
    assert chime_room.apply(reaction("r-3", "remove", "👍", at=12)) == "parked"
    assert (counts(), chime_room.published) == ([], [])
    assert chime_room.apply(created()) == "applied"
    assert counts() == [("mod", "🎉")]
    assert kinds(chime_room) == ["message.created", "reaction.added", "reaction.added", "reaction.removed"]
    assert not ChimeParkedEvent.objects.filter(event_type="REACTION").exists()


def test_a_reaction_parked_for_our_own_send_applies_when_its_copy_comes_back(chime_room):
    """Our send committed after Chime's copy of a reaction to it was read (another shard)."""
    assert chime_room.apply(reaction("r-1", "add")) == "parked"
    Message.objects.create(
        channel=chime_room.channel,
        author=chime_room.ann,
        content="wool",
        stream_id=str(chime_room.channel.pk),
        seq=1,
        chime_message_id="m-1",
    )
    assert chime_room.apply(created()) == "duplicate"
    assert counts() == [("ann", "👍")]
    assert kinds(chime_room) == ["reaction.added"]


def test_a_reaction_to_a_deleted_message_is_dropped(chime_room):
    chime_room.apply(created())
    chime_room.apply(message_record("DELETE_CHANNEL_MESSAGE", CHANNEL_ARN, "m-1", edited=5))
    assert chime_room.apply(reaction("r-1", "add")) == "duplicate"
    assert chime_room.apply(created()) == "duplicate"
    assert not ChimeParkedEvent.objects.filter(event_type="REACTION").exists()
    assert counts() == []


def test_a_deletion_before_its_message_drops_the_reactions_parked_for_it(chime_room):
    chime_room.apply(reaction("r-1", "add"))
    chime_room.apply(message_record("DELETE_CHANNEL_MESSAGE", CHANNEL_ARN, "m-1", edited=5))
    assert not ChimeParkedEvent.objects.filter(event_type="REACTION").exists()
    assert chime_room.apply(reaction("r-1", "add")) == "duplicate"


def test_a_redaction_from_chime_takes_the_reactions_with_it(chime_room):
    chime_room.apply(created())
    chime_room.apply(reaction("r-1", "add"))
    chime_room.apply(message_record("REDACT_CHANNEL_MESSAGE", CHANNEL_ARN, "m-1", redacted=True, edited=20))
    assert counts() == []
    assert chime_room.published[-1]["message"]["reactions"] == []
    assert chime_room.apply(reaction("r-2", "add", at=30)) == "ignored"  # a redacted message has none
    assert counts() == []


@pytest.mark.parametrize(
    ("record", "why"),
    [
        (reaction("r-1", "shrug"), "an unknown op"),
        (reaction("r-1", "add", "hello"), "not one emoji"),
        (reaction("r-1", "add", target=""), "no target"),
        (reaction("r-1", "add", sender="bot-weather"), "a sender the app never met"),
    ],
)
def test_a_reaction_that_cannot_be_applied_is_ignored_and_never_stored_as_a_message(chime_room, record, why):
    chime_room.apply(created())
    assert chime_room.apply(record) == "ignored", why
    assert (Message.objects.count(), counts()) == (1, [])


def test_a_reaction_message_changed_in_chime_changes_nothing(chime_room):
    chime_room.apply(created())
    chime_room.apply(reaction("r-1", "add"))
    update = message_record("UPDATE_CHANNEL_MESSAGE", CHANNEL_ARN, "r-1", content="🎉", sender="ann", edited=40)
    redact = message_record("REDACT_CHANNEL_MESSAGE", CHANNEL_ARN, "r-1", redacted=True, edited=41)
    assert chime_room.apply(update) == "ignored"
    assert chime_room.apply(redact) == "ignored"
    assert counts() == [("ann", "👍")]
    assert not ChimeParkedEvent.objects.exclude(event_type="REACTION_MESSAGE").exists()


def test_our_own_reactions_coming_back_change_nothing(chime_room, chime):
    chime_room.apply(created())
    message = Message.objects.get()
    answers = iter(["r-1", "r-2", "r-3"])

    def sent(*_):
        chime.expect("send_channel_message", {"MessageId": next(answers), "Status": {"Value": "SENT"}})

    with chime_room.capture(execute=True):
        sent()
        reaction_services.add_reaction(actor=chime_room.ann, message_id=message.pk, emoji="👍")
        sent()
        reaction_services.remove_reaction(actor=chime_room.ann, message_id=message.pk, emoji="👍")
        sent()
        reaction_services.add_reaction(actor=chime_room.mod, message_id=message.pk, emoji="🎉")
    before = list(StreamEvent.objects.order_by("seq").values_list("seq", "type"))
    assert [kind for _, kind in before] == ["message.created", "reaction.added", "reaction.removed", "reaction.added"]
    # Chime's copies of those three arrive: the removed 👍 must not come back.
    assert chime_room.apply(reaction("r-1", "add", "👍")) == "duplicate"
    assert chime_room.apply(reaction("r-2", "remove", "👍")) == "duplicate"
    assert chime_room.apply(reaction("r-3", "add", "🎉", sender="mod")) == "duplicate"
    assert counts() == [("mod", "🎉")]
    assert list(StreamEvent.objects.order_by("seq").values_list("seq", "type")) == before


def test_chime_sync_reading_reaction_messages_back_applies_each_once(chime_room):
    """chat/services/chime_sync.py hands ListChannelMessages' summaries to mirror_message."""
    from chat.backends.chime.records import ChimeMessage
    from chat.services import mirror

    listed = [created(), reaction("r-1", "add"), reaction("r-2", "add", "🎉", sender="mod")]
    for _ in range(2):  # reconciled twice: the second time changes nothing
        with chime_room.capture(execute=True):
            outcomes = [mirror.mirror_message(ChimeMessage.from_payload(item["Payload"])) for item in listed]
    assert outcomes == ["duplicate", "duplicate", "duplicate"]
    assert counts() == [("ann", "👍"), ("mod", "🎉")]
    assert Message.objects.count() == 1
