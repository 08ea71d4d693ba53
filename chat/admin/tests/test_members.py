"""chat/admin/members.py: memberships and bans through chat/services/memberships.py."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.admin.models import ADDITION, CHANGE, DELETION, LogEntry
from django.urls import reverse
from django.utils import timezone

from chat.models import Ban, Membership, Role, SubChannel
from chat.services.memberships import add_members, ban_user


@pytest.fixture
def admin_client_for(client, admin_user):
    client.force_login(admin_user)
    return client


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("model", "query"),
    [("membership", "?q=member&role__exact=moderator"), ("ban", "?q=outsider&ends=never")],
)
def test_changelists_search_and_filter(admin_client_for, member, outsider, make_channel, model, query):
    channel = make_channel(member, name="Knitting")
    add_members(actor=member, channel=channel, users=[outsider])
    ban_user(actor=member, channel=channel, user=outsider)
    response = admin_client_for.get(reverse(f"admin:chat_{model}_changelist") + query + f"&channel={channel.pk}")
    assert response.status_code == 200
    assert len(response.context["cl"].result_list) == 1


@pytest.mark.django_db
def test_admin_refusals_are_form_errors(admin_client_for, make_user, make_administrator, make_channel):
    owner = make_user("owner")
    channel = make_channel(owner)
    staffer = make_administrator("staffer")
    response = admin_client_for.post(
        reverse("admin:chat_ban_add"), {"user": "staffer", "channel": channel.pk, "reason": "no"}
    )
    assert response.status_code == 200
    assert "Moderators and administrators cannot be banned." in response.content.decode()
    assert not Ban.objects.filter(user=staffer).exists()

    pest = make_user("pest")
    ban_user(actor=owner, channel=channel, user=pest)
    response = admin_client_for.post(
        reverse("admin:chat_membership_add"), {"user": "Pest", "channel": channel.pk, "role": Role.MEMBER}
    )
    assert "Banned from this channel: pest. Lift the ban first." in response.content.decode()
    assert not Membership.objects.filter(user=pest).exists()

    response = admin_client_for.post(
        reverse("admin:chat_membership_add"), {"user": "nobody", "channel": channel.pk, "role": Role.MEMBER}
    )
    assert "No account is called “nobody”." in response.content.decode()


@pytest.mark.django_db
def test_plain_staff_is_no_administrator_and_can_be_banned(admin_client_for, make_user, make_channel):
    owner, staffer = make_user("owner"), make_user("staffer", is_staff=True)
    channel = make_channel(owner)
    admin_client_for.post(reverse("admin:chat_ban_add"), {"user": "staffer", "channel": channel.pk, "reason": "x"})
    assert Ban.objects.filter(user=staffer).exists()


@pytest.mark.django_db
def test_a_ban_has_a_reason_and_an_end_and_delete_lifts_it(admin_client_for, make_user, make_channel):
    owner, pest = make_user("owner"), make_user("pest")
    channel = make_channel(owner)
    add_members(actor=owner, channel=channel, users=[pest])
    until = (timezone.localtime() + timedelta(days=7)).replace(second=0, microsecond=0)
    admin_client_for.post(
        reverse("admin:chat_ban_add"),
        {"user": "pest", "channel": channel.pk, "reason": "Rude", "expires_at": until.strftime("%Y-%m-%dT%H:%M")},
    )
    ban = Ban.objects.get()
    assert (ban.created_by.username, ban.reason, ban.expires_at) == ("admin", "Rude", until)
    assert not Membership.objects.filter(user=pest).exists()
    assert LogEntry.objects.filter(object_id=str(ban.pk), action_flag=ADDITION).exists()
    admin_client_for.post(reverse("admin:chat_ban_delete", args=[ban.pk]), {"post": "yes"})
    assert not Ban.objects.exists()
    assert LogEntry.objects.filter(object_id=str(ban.pk), action_flag=DELETION).exists()


@pytest.mark.django_db
def test_a_ban_ending_in_the_past_is_refused(admin_client_for, make_user, make_channel):
    channel = make_channel(make_user("owner"))
    make_user("pest")
    response = admin_client_for.post(
        reverse("admin:chat_ban_add"),
        {"user": "pest", "channel": channel.pk, "reason": "Rude", "expires_at": "2001-01-01T10:00"},
    )
    assert "end must be in the future." in response.content.decode()


@pytest.mark.django_db
def test_ended_bans_leave_the_list(admin_client_for, make_user, make_channel):
    owner, pest = make_user("owner"), make_user("pest")
    channel = make_channel(owner)
    Ban.objects.create(channel=channel, user=pest, expires_at=timezone.now() - timedelta(minutes=1))
    response = admin_client_for.get(reverse("admin:chat_ban_changelist"))
    assert list(response.context["cl"].result_list) == []


@pytest.mark.django_db
def test_admin_role_changes_and_actions_use_the_services(admin_client_for, make_user, make_elastic):
    owner, alice, bob = make_user("owner"), make_user("alice"), make_user("bob")
    channel = make_elastic(owner, maximum=2, target=2)
    add_members(actor=owner, channel=channel, users=[alice, bob])
    membership = Membership.objects.get(user=alice)
    admin_client_for.post(reverse("admin:chat_membership_change", args=[membership.pk]), {"role": Role.MODERATOR})
    membership.refresh_from_db()
    # Promotion through the service: the seat became a moderator seat.
    assert membership.role == Role.MODERATOR and membership.subchannel is None
    assert membership.moderator_seats.count() == 1
    admin_client_for.post(
        reverse("admin:chat_membership_changelist"),
        {"action": "demote_selected", "_selected_action": [membership.pk]},
    )
    membership.refresh_from_db()
    assert membership.role == Role.MEMBER and membership.subchannel is not None
    assert SubChannel.objects.get(channel=channel, number=1).member_count == 2
    assert LogEntry.objects.filter(object_id=str(membership.pk), action_flag=CHANGE).count() == 2


@pytest.mark.django_db
def test_admin_deletes_memberships_through_the_services(admin_client_for, member, outsider, make_channel):
    channel = make_channel(member)
    add_members(actor=member, channel=channel, users=[outsider])
    membership = Membership.objects.get(user=outsider)
    admin_client_for.post(reverse("admin:chat_membership_delete", args=[membership.pk]), {"post": "yes"})
    assert not Membership.objects.filter(user=outsider).exists()


@pytest.mark.django_db
def test_a_refused_removal_is_shown_and_not_logged(signed_in, community):
    client = signed_in(community.moderator_a)
    helper = Membership.objects.get(channel=community.channel_a, user=community.helper)
    response = client.post(reverse("moderation:chat_membership_delete", args=[helper.pk]), {"post": "yes"}, follow=True)
    assert "only administrators remove moderators" in response.content.decode()
    assert Membership.objects.filter(pk=helper.pk).exists()
    assert not LogEntry.objects.filter(action_flag=DELETION).exists()


@pytest.mark.django_db
def test_a_moderator_manages_their_channel(signed_in, community):
    client = signed_in(community.moderator_a)
    # Add someone, promote them, demote them, remove them: each through the service.
    client.post(
        reverse("moderation:chat_membership_add"),
        {"user": "newbie", "channel": community.channel_a.pk, "role": "member"},
    )
    newbie = Membership.objects.get(channel=community.channel_a, user=community.newbie)
    changelist = reverse("moderation:chat_membership_changelist")
    client.post(changelist, {"action": "promote_selected", "_selected_action": [newbie.pk]})
    assert Membership.objects.get(pk=newbie.pk).role == Role.MODERATOR
    client.post(changelist, {"action": "demote_selected", "_selected_action": [newbie.pk]})
    assert Membership.objects.get(pk=newbie.pk).role == Role.MEMBER
    client.post(reverse("moderation:chat_membership_delete", args=[newbie.pk]), {"post": "yes"})
    assert not Membership.objects.filter(pk=newbie.pk).exists()


@pytest.mark.django_db
def test_a_moderator_only_picks_their_own_channels(signed_in, community):
    client = signed_in(community.moderator_a)
    response = client.get(reverse("moderation:chat_ban_add"))
    assert list(response.context["adminform"].form.fields["channel"].queryset) == [community.channel_a]
    response = client.post(
        reverse("moderation:chat_ban_add"), {"user": "member", "channel": community.channel_b.pk, "reason": "x"}
    )
    assert "Select a valid choice" in response.content.decode()
    assert not Ban.objects.filter(channel=community.channel_b).exists()


@pytest.mark.django_db
def test_the_ban_action_asks_why_and_until_when(signed_in, community):
    client = signed_in(community.moderator_a)
    author = Membership.objects.get(channel=community.channel_a, user=community.author)
    changelist = reverse("moderation:chat_membership_changelist")
    page = client.post(changelist, {"action": "ban_selected", "_selected_action": [author.pk]})
    assert page.status_code == 200
    assert "author from Knitting" in page.content.decode()
    refused = client.post(changelist, {"action": "ban_selected", "_selected_action": [author.pk], "apply": "yes"})
    assert "This field is required." in refused.content.decode()
    client.post(
        changelist,
        {"action": "ban_selected", "_selected_action": [author.pk], "apply": "yes", "reason": "Spam", "expires_at": ""},
    )
    ban = Ban.objects.get(channel=community.channel_a, user=community.author)
    assert (ban.reason, ban.expires_at, ban.created_by) == ("Spam", None, community.moderator_a)


@pytest.mark.django_db
def test_membership_list_queries_do_not_grow_with_rows(signed_in, community, make_user, django_assert_max_num_queries):
    client = signed_in(community.moderator_a)
    url = reverse("moderation:chat_membership_changelist")
    with django_assert_max_num_queries(15) as few:
        client.get(url)
    add_members(actor=community.moderator_a, channel=community.channel_a, users=[make_user(f"u{n}") for n in range(20)])
    with django_assert_max_num_queries(len(few)):
        response = client.get(url)
    assert response.context["cl"].result_count == 24


@pytest.mark.django_db
def test_ban_list_queries_do_not_grow_with_rows(signed_in, community, make_user, django_assert_max_num_queries):
    client = signed_in(community.moderator_a)
    url = reverse("moderation:chat_ban_changelist")
    with django_assert_max_num_queries(15) as few:
        client.get(url)
    for number in range(20):
        ban_user(actor=community.moderator_a, channel=community.channel_a, user=make_user(f"b{number}"), reason="x")
    with django_assert_max_num_queries(len(few)):
        response = client.get(url)
    assert response.context["cl"].result_count == 21
