"""chat/backends/chime/reactions.py through the reaction services: each change one SendChannelMessage,
exactly as sent (the emoji as Content, the reaction in Metadata, the right bearer), and every
refusal leaving nothing behind."""

from __future__ import annotations

import json

import pytest

from chat.backends.base import BackendUnavailable
from chat.backends.chime.reactions import CLEAR_CONTENT, REACTION_SEEN, reaction_metadata
from chat.exceptions import InvalidRequest, NotAllowed
from chat.models import Ban, ChimeParkedEvent, Membership, Message, Privacy, Reaction, StreamEvent
from chat.services import channels
from chat.services import reactions as service
from tests.rig.chime import ADMIN_ARN, arn_of, channel_arn

ARN = channel_arn(7)


class Token:
    """Equal to a ClientRequestToken of Chime's form (a UUID here), remembering it for `Metadata`."""

    value: str | None = None

    def __eq__(self, other: object) -> bool:
        self.value = other if isinstance(other, str) and len(other) == 36 else None
        return self.value is not None

    def __repr__(self) -> str:
        return "<a fresh ClientRequestToken>"


class ReactionMetadata:
    """Equal to exactly the Metadata our reaction carries, its client_msg_id being the send's token."""

    def __init__(self, op: str, target: str, token: Token) -> None:
        self.op, self.target, self.token = op, target, token

    def __eq__(self, other: object) -> bool:
        return self.token.value is not None and other == reaction_metadata(self.op, self.target, self.token.value)

    def __repr__(self) -> str:
        return f"<reaction metadata {self.op} {self.target}>"


@pytest.fixture
def room(chime, make_user):
    """A private channel in Chime: `mod` moderates it, `ann` is a member, with `ann`'s message m-1."""
    mod, ann = chime.user(make_user, "mod"), chime.user(make_user, "ann")
    chime.expect("create_channel", {"ChannelArn": ARN})
    channel = channels.create_channel(actor=mod, name="Knitting", privacy=Privacy.PRIVATE)
    Membership.objects.create(channel=channel, user=ann)
    message = Message.objects.create(
        channel=channel, author=ann, content="wool", stream_id=str(channel.pk), seq=1, chime_message_id="m-1"
    )
    return message, mod, ann


def expect_reaction(chime, op, content, bearer, *, target="m-1", reaction_id="r-1", **params):
    token = Token()
    chime.expect(
        "send_channel_message",
        {"ChannelArn": ARN, "MessageId": reaction_id, "Status": {"Value": "SENT"}},
        ChannelArn=ARN,
        Content=content,
        Type="STANDARD",
        Persistence="PERSISTENT",
        ClientRequestToken=token,  # compared before Metadata, which names it
        Metadata=ReactionMetadata(op, target, token),
        ChimeBearer=bearer,
        **params,
    )
    return token


def kinds() -> list[str]:
    return list(StreamEvent.objects.filter(type__startswith="reaction.").order_by("seq").values_list("type", flat=True))


def test_each_change_is_one_chime_message_as_the_person_or_for_a_clearing_the_app(room, chime):
    message, mod, ann = room
    token = expect_reaction(chime, "add", "👍", arn_of(ann), reaction_id="r-1")
    assert service.add_reaction(actor=ann, message_id=message.pk, emoji="👍") == [
        {"emoji": "👍", "count": 1, "users": ["ann"]}
    ]
    assert json.loads(reaction_metadata("add", "m-1", token.value)) == {
        "kind": "reaction",
        "op": "add",
        "target": "m-1",
        "client_msg_id": token.value,
    }
    # Adding it again, or removing one that is not there, changes nothing and asks Chime nothing.
    service.add_reaction(actor=ann, message_id=message.pk, emoji="👍")
    service.remove_reaction(actor=mod, message_id=message.pk, emoji="👍")
    expect_reaction(chime, "add", "🎉", arn_of(mod), reaction_id="r-2")
    service.add_reaction(actor=mod, message_id=message.pk, emoji="🎉")
    expect_reaction(chime, "remove", "👍", arn_of(ann), reaction_id="r-3")
    service.remove_reaction(actor=ann, message_id=message.pk, emoji="👍")
    expect_reaction(chime, "clear", CLEAR_CONTENT, ADMIN_ARN, reaction_id="r-4")
    assert service.clear_reactions(actor=mod, message_id=message.pk) == []
    service.clear_reactions(actor=mod, message_id=message.pk)  # nothing left: no call
    assert kinds() == ["reaction.added", "reaction.added", "reaction.removed", "reaction.cleared"]
    assert not Message.objects.exclude(pk=message.pk).exists()  # a reaction is never a message
    # Each one sent leaves its marker, so its copy on the event stream changes nothing.
    markers = ChimeParkedEvent.objects.filter(event_type=REACTION_SEEN).values_list("message_id", flat=True)
    assert sorted(markers) == ["r-1", "r-2", "r-3", "r-4"]


def test_a_reaction_to_history_from_before_the_move_to_chime_stays_here(room, chime):
    message, mod, ann = room
    Message.objects.filter(pk=message.pk).update(chime_message_id=None)
    service.add_reaction(actor=ann, message_id=message.pk, emoji="👍")
    service.remove_reaction(actor=ann, message_id=message.pk, emoji="👍")
    service.add_reaction(actor=ann, message_id=message.pk, emoji="🎉")
    service.clear_reactions(actor=mod, message_id=message.pk)
    assert kinds() == ["reaction.added", "reaction.removed", "reaction.added", "reaction.cleared"]
    assert not ChimeParkedEvent.objects.exists()


def test_a_reaction_in_an_elastic_channel_goes_to_its_messages_subchannel(chime, make_user):
    owner = chime.user(make_user, "owner")
    channel = chime.elastic_channel(owner, channel_arn=ARN)
    subchannel = channel.subchannels.get()
    message = Message.objects.create(
        channel=channel,
        subchannel=subchannel,
        author=owner,
        content="from the stage",
        stream_id=f"{channel.pk}:{subchannel.pk}",
        seq=1,
        chime_message_id="m-1",
    )
    expect_reaction(chime, "add", "👏", arn_of(owner), SubChannelId="sub-a")
    service.add_reaction(actor=owner, message_id=message.pk, emoji="👏")
    assert Reaction.objects.filter(message=message, emoji="👏").exists()


CHANGES = {
    "add": ("ann", lambda message, mod, ann: service.add_reaction(actor=ann, message_id=message.pk, emoji="🧶")),
    "remove": ("ann", lambda message, mod, ann: service.remove_reaction(actor=ann, message_id=message.pk, emoji="👍")),
    "clear": ("app", lambda message, mod, ann: service.clear_reactions(actor=mod, message_id=message.pk)),
}


@pytest.mark.parametrize("change", sorted(CHANGES))
@pytest.mark.parametrize(
    ("code", "status", "error"),
    [
        ("ForbiddenException", 403, NotAllowed),
        ("BadRequestException", 400, InvalidRequest),
        ("ResourceLimitExceededException", 400, InvalidRequest),
        ("ThrottledClientException", 429, BackendUnavailable),
        ("ServiceUnavailableException", 503, BackendUnavailable),
    ],
)
def test_a_reaction_chime_refuses_changes_nothing_here(room, chime, change, code, status, error):
    message, mod, ann = room
    Reaction.objects.create(message=message, user=ann, emoji="👍")
    chime.refuse("send_channel_message", code, status)
    with pytest.raises(error):
        CHANGES[change][1](message, mod, ann)
    assert list(Reaction.objects.values_list("user__username", "emoji")) == [("ann", "👍")]
    assert kinds() == []
    assert not ChimeParkedEvent.objects.exists()


@pytest.mark.parametrize("change", sorted(CHANGES))
@pytest.mark.parametrize("status", ["DENIED", "FAILED"])
def test_a_reaction_chime_denies_changes_nothing_here(room, chime, change, status):
    message, mod, ann = room
    Reaction.objects.create(message=message, user=ann, emoji="👍")
    chime.expect("send_channel_message", {"MessageId": "r-1", "Status": {"Value": status}})
    with pytest.raises(NotAllowed):
        CHANGES[change][1](message, mod, ann)
    assert (Reaction.objects.count(), kinds(), ChimeParkedEvent.objects.count()) == (1, [], 0)


def test_policy_refuses_before_chime_is_asked(room, chime):
    message, _, ann = room
    # Nothing is queued on the stub: a SendChannelMessage would fail this test.
    with pytest.raises(NotAllowed):
        service.clear_reactions(actor=ann, message_id=message.pk)  # not a moderator
    Ban.objects.create(channel=message.channel, user=ann)
    with pytest.raises(NotAllowed):
        service.add_reaction(actor=ann, message_id=message.pk, emoji="👍")
