"""chat/admin/channels.py: channels through the services, scoped to the person's own on /moderation/."""

from __future__ import annotations

import pytest
from django.urls import reverse

from chat.models import Channel, ChannelType, Membership, Mode, Privacy, Role
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
def test_admin_deletes_channels_through_the_service(admin_client_for, member, make_channel):
    channel = make_channel(member)
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


@pytest.mark.django_db
def test_a_moderator_lists_only_their_channels_with_links_to_their_pages(signed_in, community):
    response = signed_in(community.moderator_a).get(reverse("moderation:chat_channel_changelist"))
    assert [channel.name for channel in response.context["cl"].result_list] == ["Knitting"]
    html = response.content.decode()
    assert f"{reverse('moderation:chat_report_changelist')}?channel={community.channel_a.pk}" in html
    # One open report, about the author: counted for the moderator.
    assert response.context["cl"].result_list[0].open_report_count == 1
    # Moderators neither add nor delete channels here.
    assert signed_in(community.moderator_a).get(reverse("moderation:chat_channel_add")).status_code == 403


@pytest.mark.django_db
def test_a_moderator_cannot_open_another_channel(signed_in, community):
    client = signed_in(community.moderator_b)
    response = client.get(reverse("moderation:chat_channel_change", args=[community.channel_a.pk]), follow=True)
    assert "doesn’t exist" in response.content.decode()


@pytest.mark.django_db
def test_channel_list_queries_do_not_grow_with_channels(
    signed_in, community, make_channel, django_assert_max_num_queries
):
    client = signed_in(community.administrator)
    url = reverse("admin:chat_channel_changelist")
    with django_assert_max_num_queries(12) as few:
        client.get(url)
    for number in range(15):
        make_channel(community.moderator_a, name=f"Extra {number}")
    with django_assert_max_num_queries(len(few)):
        response = client.get(url)
    assert len(response.context["cl"].result_list) == 17
