"""chat/services/channels.py beyond the permission matrix: creating, editing, deleting, direct messages."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from chat.exceptions import ChannelNotFound, NotAllowed
from chat.models import Channel, ChannelType, Membership, Message, Mode, Privacy, Role
from chat.services.access import get_channel_access
from chat.services.channels import create_channel, delete_channel, open_direct_channel, update_channel
from chat.services.memberships import (
    add_members,
    join_channel,
    leave_channel,
)


@pytest.mark.django_db
def test_creating_a_channel_makes_the_creator_its_first_moderator(
    member, published, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        channel = create_channel(actor=member, name="  Birding  ", privacy=Privacy.PRIVATE, mode=Mode.UNRESTRICTED)
    assert (channel.name, channel.privacy, channel.mode, channel.created_by) == (
        "Birding",
        Privacy.PRIVATE,
        Mode.UNRESTRICTED,
        member,
    )
    assert Membership.objects.get(channel=channel).role == Role.MODERATOR
    assert [event["type"] for event in published] == ["channel.created"]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"name": "   "}, "name", "Enter a channel name."),
        ({"name": "x" * 81}, "name", "at most 80 characters"),
        ({"privacy": "secret"}, "privacy", "is not a valid choice"),
        ({"privacy": Privacy.PUBLIC, "mode": Mode.UNRESTRICTED}, "mode", "Only private standard channels"),
        ({"channel_type": ChannelType.ELASTIC}, "maximum_subchannels", "Required for elastic channels."),
        ({"maximum_subchannels": 3}, "channel_type", "apply to elastic channels only"),
    ],
)
def test_bad_channel_settings_are_refused_with_clear_messages(member, fields, field, message):
    arguments = {"name": "Birding", "privacy": Privacy.PRIVATE, **fields}
    with pytest.raises(ValidationError) as refusal:
        create_channel(actor=member, **arguments)
    assert any(message in text for text in refusal.value.message_dict[field])
    assert not Channel.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("maximum", "target", "percentage", "field"),
    [
        (1, 4, 40, "maximum_subchannels"),
        (2, 1, 40, "target_memberships_per_subchannel"),
        (2, 1001, 40, "target_memberships_per_subchannel"),
        (2, 4, 0, "minimum_membership_percentage"),
        (2, 4, 41, "minimum_membership_percentage"),
        (1001, 1000, 40, "maximum_subchannels"),  # capacity 1,001,000
    ],
)
def test_elastic_settings_outside_their_limits_are_refused(member, maximum, target, percentage, field):
    with pytest.raises(ValidationError) as refusal:
        create_channel(
            actor=member,
            name="Big",
            privacy=Privacy.PUBLIC,
            channel_type=ChannelType.ELASTIC,
            maximum_subchannels=maximum,
            target_memberships_per_subchannel=target,
            minimum_membership_percentage=percentage,
        )
    assert field in refusal.value.message_dict


@pytest.mark.django_db
def test_capacity_of_exactly_one_million_is_accepted(member):
    channel = create_channel(
        actor=member,
        name="Huge",
        privacy=Privacy.PUBLIC,
        channel_type=ChannelType.ELASTIC,
        maximum_subchannels=1000,
        target_memberships_per_subchannel=1000,
        minimum_membership_percentage=1,
    )
    assert channel.capacity == 1_000_000


@pytest.mark.django_db
def test_privacy_is_never_changed_by_an_update(member, make_channel):
    channel = make_channel(member, privacy=Privacy.PRIVATE)
    update_channel(actor=member, channel=channel, name="Renamed", mode=Mode.UNRESTRICTED)
    channel.refresh_from_db()
    assert (channel.name, channel.privacy, channel.mode) == ("Renamed", Privacy.PRIVATE, Mode.UNRESTRICTED)


@pytest.mark.django_db
def test_public_channels_cannot_become_unrestricted(member, make_channel):
    channel = make_channel(member, privacy=Privacy.PUBLIC)
    with pytest.raises(NotAllowed):
        update_channel(actor=member, channel=channel, name=channel.name, mode=Mode.UNRESTRICTED)


@pytest.mark.django_db
def test_private_channels_are_not_found_by_outsiders_just_like_missing_ones(member, outsider, make_channel):
    channel = make_channel(member, privacy=Privacy.PRIVATE)
    for channel_id in (channel.pk, 999_999):
        with pytest.raises(ChannelNotFound) as refusal:
            get_channel_access(outsider, channel_id)
        assert str(refusal.value) == "Channel not found."
    with pytest.raises(ChannelNotFound):
        join_channel(actor=outsider, channel=channel)
    assert list(Channel.objects.visible_to(outsider)) == []


@pytest.mark.django_db
def test_visible_to_lists_public_own_and_for_admins_all(member, outsider, admin_user, make_channel):
    public = make_channel(member, name="Open", privacy=Privacy.PUBLIC)
    private = make_channel(member, name="Closed", privacy=Privacy.PRIVATE)
    assert set(Channel.objects.visible_to(outsider)) == {public}
    assert set(Channel.objects.visible_to(member)) == {public, private}
    assert set(Channel.objects.visible_to(admin_user)) == {public, private}
    assert set(Channel.objects.joinable_by(outsider)) == {public}
    assert set(Channel.objects.moderated_by(member)) == {public, private}


@pytest.mark.django_db
def test_deleting_an_elastic_channel_removes_its_messages_and_subchannels(member, make_elastic):
    channel = make_elastic(member)
    subchannel = channel.subchannels.get()
    Message.objects.create(channel=channel, subchannel=subchannel, author=member, content="hi")
    delete_channel(actor=member, channel=channel)
    assert not Channel.objects.exists() and not Message.objects.exists()


@pytest.mark.django_db
def test_direct_messages_are_private_restricted_pairs_and_reopen(member, outsider, make_user):
    channel = open_direct_channel(actor=member, other=outsider)
    assert (channel.is_direct, channel.privacy, channel.mode) == (True, Privacy.PRIVATE, Mode.RESTRICTED)
    assert set(channel.memberships.values_list("user__username", "role")) == {
        ("member", Role.MEMBER),
        ("outsider", Role.MEMBER),
    }
    leave_channel(actor=outsider, channel=channel)
    assert open_direct_channel(actor=member, other=outsider) == channel  # reopened, not duplicated
    assert open_direct_channel(actor=outsider, other=member) == channel
    assert channel.memberships.count() == 2
    with pytest.raises(NotAllowed):
        add_members(actor=member, channel=channel, users=[make_user("third")])
    with pytest.raises(NotAllowed):
        open_direct_channel(actor=member, other=member)
    assert list(Channel.objects.visible_to(make_user("nosy"))) == []


@pytest.mark.django_db
@pytest.mark.parametrize("other", ["chess", "CHESS", "Chess"])
def test_channel_names_are_unique_whatever_the_case(member, outsider, other):
    first = create_channel(actor=member, name="Chess", privacy=Privacy.PUBLIC)
    with pytest.raises(ValidationError) as refused:
        create_channel(actor=outsider, name=other, privacy=Privacy.PRIVATE)
    assert refused.value.message_dict == {"name": ["A channel named “Chess” already exists."]}
    second = create_channel(actor=outsider, name="Go", privacy=Privacy.PUBLIC)
    with pytest.raises(ValidationError):
        update_channel(actor=outsider, channel=second, name=other)
    assert update_channel(actor=member, channel=first, name="chess").name == "chess"  # its own name, recased
    assert Channel.objects.filter(is_direct=False).count() == 2
