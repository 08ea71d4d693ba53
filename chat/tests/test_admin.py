"""Django admin for chat: lists with search and filters, and every write through the services."""

from __future__ import annotations

import pytest
from django.urls import reverse

from chat.models import Ban, Channel, ChannelType, Membership, Mode, Privacy, Role, SubChannel
from chat.services.memberships import add_members, ban_user


@pytest.fixture
def admin_client_for(client, admin_user):
    client.force_login(admin_user)
    return client


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("model", "query"),
    [
        ("channel", "?q=Knit&privacy__exact=public&channel_type__exact=standard"),
        ("membership", "?q=member&role__exact=member"),
        ("ban", "?q=outsider"),
        ("subchannel", "?q=Knit&is_open__exact=1"),
    ],
)
def test_changelists_search_and_filter(admin_client_for, member, outsider, make_channel, model, query):
    channel = make_channel(member, name="Knitting")
    add_members(actor=member, channel=channel, users=[outsider])
    ban_user(actor=member, channel=channel, user=outsider)
    response = admin_client_for.get(reverse(f"admin:chat_{model}_changelist") + query)
    assert response.status_code == 200


@pytest.mark.django_db
def test_admin_adds_a_channel_through_the_service(admin_client_for, admin_user):
    response = admin_client_for.post(
        reverse("admin:chat_channel_add"),
        {
            "name": "From admin",
            "privacy": Privacy.PRIVATE,
            "mode": Mode.UNRESTRICTED,
            "channel_type": ChannelType.STANDARD,
        },
    )
    assert response.status_code == 302
    channel = Channel.objects.get(name="From admin")
    assert Membership.objects.get(channel=channel).user == admin_user  # the creator moderates, as on the page
    assert Membership.objects.get(channel=channel).role == Role.MODERATOR


@pytest.mark.django_db
def test_admin_refusals_are_form_errors(admin_client_for, make_user, make_channel):
    owner = make_user("owner")
    channel = make_channel(owner)
    staffer = make_user("staffer", is_staff=True)
    response = admin_client_for.post(reverse("admin:chat_ban_add"), {"user": staffer.pk, "channel": channel.pk})
    assert response.status_code == 200
    assert "Moderators and administrators cannot be banned." in response.content.decode()
    assert not Ban.objects.exists()

    pest = make_user("pest")
    ban_user(actor=owner, channel=channel, user=pest)
    response = admin_client_for.post(
        reverse("admin:chat_membership_add"), {"user": pest.pk, "channel": channel.pk, "role": Role.MEMBER}
    )
    assert "Banned from this channel: pest. Lift the ban first." in response.content.decode()
    assert not Membership.objects.filter(user=pest).exists()


@pytest.mark.django_db
def test_admin_ban_removes_the_membership_and_delete_lifts_it(admin_client_for, make_user, make_channel):
    owner, pest = make_user("owner"), make_user("pest")
    channel = make_channel(owner)
    add_members(actor=owner, channel=channel, users=[pest])
    admin_client_for.post(reverse("admin:chat_ban_add"), {"user": pest.pk, "channel": channel.pk})
    ban = Ban.objects.get()
    assert ban.created_by.username == "admin"
    assert not Membership.objects.filter(user=pest).exists()
    admin_client_for.post(reverse("admin:chat_ban_delete", args=[ban.pk]), {"post": "yes"})
    assert not Ban.objects.exists()


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


@pytest.mark.django_db
def test_admin_deletes_channels_and_memberships_through_the_services(admin_client_for, member, outsider, make_channel):
    channel = make_channel(member)
    add_members(actor=member, channel=channel, users=[outsider])
    membership = Membership.objects.get(user=outsider)
    admin_client_for.post(reverse("admin:chat_membership_delete", args=[membership.pk]), {"post": "yes"})
    assert not Membership.objects.filter(user=outsider).exists()
    admin_client_for.post(
        reverse("admin:chat_channel_changelist"),
        {"action": "delete_selected", "_selected_action": [channel.pk], "post": "yes"},
    )
    assert not Channel.objects.exists()


@pytest.mark.django_db
def test_privacy_is_read_only_when_changing_a_channel(admin_client_for, member, make_channel):
    channel = make_channel(member, privacy=Privacy.PRIVATE)
    admin_client_for.post(
        reverse("admin:chat_channel_change", args=[channel.pk]),
        {"name": "Renamed", "privacy": Privacy.PUBLIC, "mode": Mode.UNRESTRICTED},
    )
    channel.refresh_from_db()
    assert (channel.name, channel.privacy, channel.mode) == ("Renamed", Privacy.PRIVATE, Mode.UNRESTRICTED)


@pytest.mark.django_db
def test_subchannels_are_read_only_in_admin(admin_client_for):
    assert admin_client_for.get(reverse("admin:chat_subchannel_add")).status_code == 403
