"""chat/services/mirror_channels.py: Chime's membership, moderator, ban, channel and sub-channel
events mirrored idempotently, with the same protocol events as the local services."""

from __future__ import annotations

import pytest

from chat.models import Ban, Channel, ChannelType, Membership, Message, ModeratorSeat, Privacy, Role, SubChannel
from chat.services import mirror
from chat.streams import StreamKey
from tests.rig.chime import CHANNEL_ARN
from tests.rig.kinesis import channel_record, member_record, message_record, subchannel_record

pytestmark = pytest.mark.django_db


def stream_types(channel, subchannel_id=None) -> list[str]:
    from chat.models import StreamEvent

    key = str(StreamKey(channel.pk, subchannel_id))
    return list(StreamEvent.objects.filter(stream_id=key).order_by("seq").values_list("type", flat=True))


def test_members_joining_and_leaving_in_chime_are_mirrored_once(chime_room):
    channel = chime_room.channel
    assert chime_room.apply(member_record("CREATE_CHANNEL_MEMBERSHIP", CHANNEL_ARN, "bob", by="mod")) == "applied"
    assert chime_room.apply(member_record("CREATE_CHANNEL_MEMBERSHIP", CHANNEL_ARN, "bob", by="mod")) == "duplicate"
    assert Membership.objects.filter(channel=channel, user=chime_room.bob).exists()
    assert chime_room.apply(member_record("DELETE_CHANNEL_MEMBERSHIP", CHANNEL_ARN, "bob", by="mod")) == "applied"
    assert chime_room.apply(member_record("DELETE_CHANNEL_MEMBERSHIP", CHANNEL_ARN, "ann")) == "applied"
    assert chime_room.apply(member_record("DELETE_CHANNEL_MEMBERSHIP", CHANNEL_ARN, "ann")) == "duplicate"
    assert stream_types(channel) == ["member.joined", "member.removed", "member.left"]
    assert "streams.changed" in chime_room.types()


def test_moderators_and_bans_are_mirrored(chime_room):
    channel = chime_room.channel
    assert chime_room.apply(member_record("CREATE_CHANNEL_MODERATOR", CHANNEL_ARN, "ann", by="mod")) == "applied"
    assert chime_room.apply(member_record("CREATE_CHANNEL_MODERATOR", CHANNEL_ARN, "ann", by="mod")) == "duplicate"
    assert Membership.objects.get(channel=channel, user=chime_room.ann).role == Role.MODERATOR
    assert chime_room.apply(member_record("DELETE_CHANNEL_MODERATOR", CHANNEL_ARN, "ann", by="mod")) == "applied"
    assert Membership.objects.get(channel=channel, user=chime_room.ann).role == Role.MEMBER
    assert chime_room.apply(member_record("CREATE_CHANNEL_BAN", CHANNEL_ARN, "ann", by="mod")) == "applied"
    assert chime_room.apply(member_record("CREATE_CHANNEL_BAN", CHANNEL_ARN, "ann", by="mod")) == "duplicate"
    assert not Membership.objects.filter(channel=channel, user=chime_room.ann).exists()
    assert Ban.objects.get(channel=channel).created_by == chime_room.mod
    assert chime_room.apply(member_record("DELETE_CHANNEL_BAN", CHANNEL_ARN, "ann", by="mod")) == "applied"
    assert chime_room.apply(member_record("DELETE_CHANNEL_BAN", CHANNEL_ARN, "ann", by="mod")) == "duplicate"
    assert stream_types(channel) == ["member.role", "member.role", "member.banned"]


def test_channel_updates_and_deletion_are_mirrored(chime_room):
    channel = chime_room.channel
    rename = channel_record("UPDATE_CHANNEL", CHANNEL_ARN, name="Purling", mode="UNRESTRICTED")
    assert chime_room.apply(rename) == "applied"
    assert chime_room.apply(rename) == "duplicate"
    channel.refresh_from_db()
    assert (channel.name, channel.mode) == ("Purling", "unrestricted")
    assert stream_types(channel) == ["channel.updated"]
    assert chime_room.apply(channel_record("DELETE_CHANNEL", CHANNEL_ARN)) == "applied"
    assert chime_room.apply(channel_record("DELETE_CHANNEL", CHANNEL_ARN)) == "duplicate"
    assert not Channel.objects.exists()
    assert "channel.deleted" in chime_room.types()


def test_a_mode_chime_gives_a_channel_that_has_none_is_not_taken(chime_room):
    channel = chime_room.channel
    channel.privacy = Privacy.PUBLIC
    channel.save()
    chime_room.apply(channel_record("UPDATE_CHANNEL", CHANNEL_ARN, name="Knitting", mode="UNRESTRICTED"))
    channel.refresh_from_db()
    assert channel.mode == "restricted"


@pytest.fixture
def crowd(chime_room):
    """The room made elastic, with Chime's sub-channels sub-a (ann) and sub-b (mod's seat)."""
    channel = chime_room.channel
    Channel.objects.filter(pk=channel.pk).update(
        channel_type=ChannelType.ELASTIC,
        privacy=Privacy.PUBLIC,
        maximum_subchannels=3,
        target_memberships_per_subchannel=4,
        minimum_membership_percentage=25,
    )
    channel.refresh_from_db()
    first = SubChannel.objects.create(channel=channel, number=1, chime_id="sub-a", member_count=1)
    second = SubChannel.objects.create(channel=channel, number=2, chime_id="sub-b")
    Membership.objects.filter(user=chime_room.ann).update(subchannel=first)
    ModeratorSeat.objects.create(membership=Membership.objects.get(user=chime_room.mod), subchannel=second)
    return channel, first, second


def test_subchannels_chime_opens_are_opened_here(chime_room, crowd):
    channel, _, _ = crowd
    assert chime_room.apply(subchannel_record("CREATE_SUB_CHANNEL", CHANNEL_ARN, "sub-c")) == "applied"
    assert chime_room.apply(subchannel_record("CREATE_SUB_CHANNEL", CHANNEL_ARN, "sub-c")) == "duplicate"
    third = SubChannel.objects.get(chime_id="sub-c")
    assert (third.number, third.is_open, hasattr(third, "stream")) == (3, True, True)


def test_members_chime_places_and_moves_follow_its_placement(chime_room, crowd):
    channel, first, second = crowd
    joined = member_record("CREATE_CHANNEL_MEMBERSHIP", CHANNEL_ARN, "bob", subchannel="sub-b")
    assert chime_room.apply(joined) == "applied"
    assert Membership.objects.get(user=chime_room.bob).subchannel == second
    moved = member_record("UPDATE_CHANNEL_MEMBERSHIP", CHANNEL_ARN, "bob", subchannel="sub-a")
    assert chime_room.apply(moved) == "applied"
    assert chime_room.apply(moved) == "duplicate"
    assert Membership.objects.get(user=chime_room.bob).subchannel == first
    assert dict(SubChannel.objects.values_list("chime_id", "member_count")) == {"sub-a": 2, "sub-b": 0}
    assert "member.moved" in chime_room.types()


def test_a_subchannel_chime_deletes_keeps_its_history_readable_here(chime_room, crowd):
    channel, first, second = crowd
    for number in range(3):
        record = message_record(
            "CREATE_CHANNEL_MESSAGE", CHANNEL_ARN, f"m-{number}", content=f"kept {number}", sender="ann", at=number
        )
        record["Payload"]["SubChannelId"] = "sub-a"
        chime_room.apply(record)
    assert chime_room.apply(subchannel_record("DELETE_SUB_CHANNEL", CHANNEL_ARN, "sub-a")) == "applied"
    assert chime_room.apply(subchannel_record("DELETE_SUB_CHANNEL", CHANNEL_ARN, "sub-a")) == "duplicate"
    first.refresh_from_db()
    assert (first.is_open, first.merged_into) == (False, second)
    assert list(Message.objects.order_by("seq").values_list("content", "stream_id")) == [
        (f"kept {number}", f"{channel.pk}:{second.pk}") for number in range(3)
    ]
    assert Membership.objects.get(user=chime_room.ann).subchannel == second
    assert "stream.merged" in stream_types(channel, second.pk)


def test_events_for_people_or_channels_the_app_does_not_know_are_ignored(chime_room):
    assert chime_room.apply(member_record("CREATE_CHANNEL_MEMBERSHIP", CHANNEL_ARN, "stranger")) == "ignored"
    assert chime_room.apply(member_record("CREATE_CHANNEL_MEMBERSHIP", CHANNEL_ARN + "x", "bob")) == "ignored"
    assert mirror.apply_event(mirror.parse_record(b'{"EventType": "CREATE_CHANNEL", "Payload": {}}')) == "ignored"
