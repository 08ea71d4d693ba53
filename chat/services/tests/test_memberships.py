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
def test_nobody_bans_a_moderator_an_admin_or_themselves(make_user, make_administrator, make_channel, target_kind):
    owner = make_user("owner")
    admin = make_administrator("boss")
    channel = make_channel(owner)
    target = {"moderator": make_user("helper"), "admin": make_administrator("staffer"), "self": owner}[target_kind]
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


# Moderation (issue: moderators in Django admin): demotion rules, bans with a reason and an end


@pytest.mark.django_db
def test_the_last_moderator_cannot_demote_themselves(member, outsider, make_channel):
    from chat.services.memberships import demote_moderator

    channel = make_channel(member)
    with pytest.raises(NotAllowed, match="only moderator"):
        demote_moderator(actor=member, channel=channel, user=member)
    add_members(actor=member, channel=channel, users=[outsider])
    promote_moderator(actor=member, channel=channel, user=outsider)
    demote_moderator(actor=member, channel=channel, user=member)  # someone else still moderates
    assert Membership.objects.get(channel=channel, user=member).role == "member"


@pytest.mark.django_db
def test_an_administrator_who_created_a_channel_is_demoted_by_administrators_only(
    make_user, make_administrator, make_channel
):
    from chat.services.memberships import demote_moderator

    creator, helper, other_admin = make_administrator("creator"), make_user("helper"), make_administrator("boss")
    channel = make_channel(creator)
    add_members(actor=creator, channel=channel, users=[helper])
    promote_moderator(actor=creator, channel=channel, user=helper)
    with pytest.raises(NotAllowed, match="only administrators demote them"):
        demote_moderator(actor=helper, channel=channel, user=creator)
    demote_moderator(actor=other_admin, channel=channel, user=creator)
    assert Membership.objects.get(channel=channel, user=creator).role == "member"


@pytest.mark.django_db
def test_a_creator_who_is_no_administrator_can_be_demoted_by_a_moderator(make_user, make_channel):
    from chat.services.memberships import demote_moderator

    creator, helper = make_user("creator"), make_user("helper")
    channel = make_channel(creator)
    add_members(actor=creator, channel=channel, users=[helper])
    promote_moderator(actor=creator, channel=channel, user=helper)
    demote_moderator(actor=helper, channel=channel, user=creator)
    assert Membership.objects.get(channel=channel, user=creator).role == "member"


@pytest.mark.django_db
def test_a_ban_with_an_end_lifts_itself(member, outsider, make_channel):
    from datetime import timedelta

    from django.utils import timezone

    channel = make_channel(member)
    ban = ban_user(
        actor=member,
        channel=channel,
        user=outsider,
        reason=" flooding ",
        expires_at=timezone.now() + timedelta(hours=1),
    )
    assert ban.reason == "flooding"
    with pytest.raises(NotAllowed):
        join_channel(actor=outsider, channel=channel)
    Ban.objects.filter(pk=ban.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    join_channel(actor=outsider, channel=channel)  # ended: they are back
    # A new ban replaces the ended row.
    ban_user(actor=member, channel=channel, user=outsider)
    assert Ban.objects.get(channel=channel, user=outsider).expires_at is None


@pytest.mark.django_db
def test_a_ban_must_end_in_the_future_and_explain_itself_briefly(member, outsider, make_channel):
    from django.utils import timezone

    channel = make_channel(member)
    with pytest.raises(InvalidRequest, match="in the future"):
        ban_user(actor=member, channel=channel, user=outsider, expires_at=timezone.now())
    with pytest.raises(InvalidRequest, match="at most 500"):
        ban_user(actor=member, channel=channel, user=outsider, reason="x" * 501)
