"""chat/services/memberships.py beyond the permission matrix: joining, adding, leaving, bans, events."""

from __future__ import annotations

import pytest

from chat.exceptions import ChannelNotFound, InvalidRequest, NotAllowed
from chat.models import Ban, Membership, Mode, Privacy
from chat.services.memberships import (
    add_members,
    ban_user,
    join_channel,
    leave_channel,
    promote_moderator,
    unban_user,
)


@pytest.mark.django_db
def test_joining_twice_returns_the_same_membership(outsider, member, make_channel):
    channel = make_channel(member)
    assert join_channel(actor=outsider, channel=channel) == join_channel(actor=outsider, channel=channel)
    assert Membership.objects.filter(channel=channel).count() == 2


@pytest.mark.django_db
def test_a_ban_removes_the_membership_and_holds_until_lifted(member, outsider, make_channel):
    channel = make_channel(member)
    join_channel(actor=outsider, channel=channel)
    ban_user(actor=member, channel=channel, user=outsider)
    assert not Membership.objects.filter(channel=channel, user=outsider).exists()
    with pytest.raises(NotAllowed, match="You are banned from this channel."):
        join_channel(actor=outsider, channel=channel)
    with pytest.raises(InvalidRequest, match="Lift the ban first"):
        add_members(actor=member, channel=channel, users=[outsider])
    unban_user(actor=member, channel=channel, user=outsider)
    join_channel(actor=outsider, channel=channel)


@pytest.mark.django_db
def test_banned_from_a_private_channel_means_not_found(member, outsider, make_channel):
    channel = make_channel(member, privacy=Privacy.PRIVATE)
    add_members(actor=member, channel=channel, users=[outsider])
    ban_user(actor=member, channel=channel, user=outsider)
    with pytest.raises(ChannelNotFound):
        join_channel(actor=outsider, channel=channel)


@pytest.mark.django_db
@pytest.mark.parametrize("target_kind", ["moderator", "admin", "self"])
def test_nobody_bans_a_moderator_an_admin_or_themselves(make_user, make_channel, target_kind):
    owner = make_user("owner")
    admin = make_user("boss", is_staff=True)
    channel = make_channel(owner)
    target = {"moderator": make_user("helper"), "admin": make_user("staffer", is_staff=True), "self": owner}[
        target_kind
    ]
    if target_kind == "moderator":
        add_members(actor=owner, channel=channel, users=[target])
        promote_moderator(actor=owner, channel=channel, user=target)
    for actor in (owner, admin):
        if actor == target:
            continue
        with pytest.raises(NotAllowed):
            ban_user(actor=actor, channel=channel, user=target)
    assert not Ban.objects.exists()


@pytest.mark.django_db
def test_a_non_member_can_be_banned_ahead(member, outsider, make_channel):
    channel = make_channel(member)
    ban_user(actor=member, channel=channel, user=outsider)
    with pytest.raises(InvalidRequest, match="already banned"):
        ban_user(actor=member, channel=channel, user=outsider)


@pytest.mark.django_db
def test_adding_inactive_or_existing_people_is_refused(member, make_user, make_channel):
    channel = make_channel(member, privacy=Privacy.PRIVATE)
    pending = make_user("pending", is_active=False)
    with pytest.raises(InvalidRequest, match="Not an active account: pending"):
        add_members(actor=member, channel=channel, users=[pending])
    with pytest.raises(InvalidRequest, match="Already a member"):
        add_members(actor=member, channel=channel, users=[member])


@pytest.mark.django_db
def test_unrestricted_members_add_but_do_not_remove(make_user, make_channel):
    from chat.services.memberships import remove_member

    owner, alice, bob = make_user("owner"), make_user("alice"), make_user("bob")
    channel = make_channel(owner, privacy=Privacy.PRIVATE, mode=Mode.UNRESTRICTED)
    add_members(actor=owner, channel=channel, users=[alice])
    add_members(actor=alice, channel=channel, users=[bob])
    with pytest.raises(NotAllowed, match="Only moderators remove members"):
        remove_member(actor=alice, channel=channel, user=bob)


@pytest.mark.django_db
def test_events_are_published_only_after_commit(member, outsider, make_channel, published):
    channel = make_channel(member)
    # No commit inside a test transaction: nothing may be delivered.
    join_channel(actor=outsider, channel=channel)
    assert published == []


@pytest.mark.django_db
def test_leaving_publishes_and_removes(member, outsider, make_channel, published, django_capture_on_commit_callbacks):
    channel = make_channel(member)
    join_channel(actor=outsider, channel=channel)
    with django_capture_on_commit_callbacks(execute=True):
        leave_channel(actor=outsider, channel=channel)
    assert published == [
        {
            "type": "membership.deleted",
            "channel_id": channel.pk,
            "user_id": outsider.pk,
            "by": outsider.pk,
            "reason": "left",
            "streams": [str(channel.pk)],
        }
    ]
