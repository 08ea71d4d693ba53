"""Channel pages: lists, the Add channel form, details, actions shown only to those allowed, query counts."""

from __future__ import annotations

import re

import pytest
from django.test import Client
from django.urls import reverse

from chat.models import Channel, ChannelType, Membership, Mode, ModeratorSeat, Privacy, Role, SubChannel
from chat.services.channels import open_direct_channel
from chat.services.memberships import add_members, ban_user, join_channel

LIST = reverse("chat-channels")
CREATE = reverse("chat-create")


def detail(channel: Channel) -> str:
    return reverse("chat-channel", kwargs={"channel_id": channel.pk})


def section(html: str, testid: str) -> str:
    match = re.search(rf'data-testid="{testid}">(.*?)</section>', html, re.S)
    assert match, testid
    return match.group(1)


def signed_in(client: Client, user) -> Client:
    client.force_login(user)
    return client


@pytest.mark.django_db
@pytest.mark.parametrize("path", [LIST, CREATE, "/channels/1/"])
def test_anonymous_visitors_are_sent_to_sign_in(client, path):
    response = client.get(path)
    assert response.status_code == 302 and response.url.startswith("/?next=")


@pytest.mark.django_db
def test_channels_page_lists_mine_moderated_joinable_and_direct(client, make_user, make_channel):
    me, owner = make_user("me"), make_user("owner")
    mine = make_channel(me, name="Mine", privacy=Privacy.PRIVATE)
    joined = make_channel(owner, name="Joined")
    join_channel(actor=me, channel=joined)
    open_to_join = make_channel(owner, name="OpenToJoin")
    make_channel(owner, name="SecretOfOwner", privacy=Privacy.PRIVATE)
    open_direct_channel(actor=owner, other=me)

    html = signed_in(client, me).get(LIST).content.decode()
    assert "Mine" in section(html, "my-channels") and "Joined" in section(html, "my-channels")
    assert "Mine" in section(html, "moderated-channels") and "Joined" not in section(html, "moderated-channels")
    assert "OpenToJoin" in section(html, "joinable-channels") and "Joined" not in section(html, "joinable-channels")
    assert reverse("chat-join", kwargs={"channel_id": open_to_join.pk}) in html
    assert ">owner</a>" in section(html, "direct-messages")
    assert "owner, me" not in section(html, "my-channels")
    assert "SecretOfOwner" not in html
    assert f'data-unread-stream="{mine.pk}"' in html
    assert 'href="/channels/new/"' in html and "Add channel" in html


@pytest.mark.django_db
@pytest.mark.parametrize("count", [3, 30])
def test_channels_page_queries_do_not_grow_with_channels(
    client, make_user, make_channel, count, django_assert_num_queries
):
    me, owner = make_user("me"), make_user("owner")
    for index in range(count):
        make_channel(me, name=f"mine{index}", privacy=Privacy.PRIVATE)
        make_channel(owner, name=f"public{index}")
        open_direct_channel(actor=me, other=make_user(f"friend{index}"))
    signed_in(client, me)
    # session, user, my memberships, direct channels + their members, joinable channels: 6 for the
    # lists; the sidebar's 6 (its counts serve the lists too: chat/web/tests/test_sidebar.py); profile.
    with django_assert_num_queries(13):
        response = client.get(LIST)
    direct_section = response.content.decode().split('data-testid="direct-messages"')[1]
    assert direct_section.count("friend") == count


@pytest.mark.django_db
@pytest.mark.parametrize("count", [3, 30])
def test_details_page_queries_do_not_grow_with_members(
    client, make_user, make_channel, count, django_assert_num_queries
):
    owner = make_user("owner")
    channel = make_channel(owner, privacy=Privacy.PRIVATE, channel_type=ChannelType.ELASTIC,
                           maximum_subchannels=40, target_memberships_per_subchannel=2,
                           minimum_membership_percentage=40)  # fmt: skip
    add_members(actor=owner, channel=channel, users=[make_user(f"m{index}") for index in range(count)])
    for index in range(count):
        ban_user(actor=owner, channel=channel, user=make_user(f"b{index}"))
    signed_in(client, owner)
    # session, user, channel, membership, ban, members count + page, moderators, bans, sub-channels;
    # the sidebar's 6 (chat/web/tests/test_sidebar.py)
    with django_assert_num_queries(16):
        response = client.get(detail(channel))
    html = response.content.decode()
    assert html.count('aria-label="Ban m') == count and html.count('aria-label="Unban b') == count
    assert "Sub-channels" in html


@pytest.mark.django_db
def test_private_channel_details_are_404_for_outsiders_like_a_missing_channel(client, member, outsider, make_channel):
    channel = make_channel(member, privacy=Privacy.PRIVATE)
    signed_in(client, outsider)
    hidden = client.get(detail(channel))
    missing = client.get("/channels/999999/")
    assert hidden.status_code == missing.status_code == 404
    assert channel.name not in hidden.content.decode()
    search = reverse("chat-member-search", kwargs={"channel_id": channel.pk})
    assert client.get(search, {"q": "m"}).status_code == 404


@pytest.mark.django_db
def test_add_channel_form_has_exactly_the_labels_of_the_issue(client, member):
    html = signed_in(client, member).get(CREATE).content.decode()
    for label in (
        '<label for="id_name">Channel name</label>',
        '<label for="id_moderator">Moderator</label>',
        "<legend>Privacy (cannot be changed)</legend>",
        "Private (only members can read and send messages)",
        "Public (non-members can read and send messages)",
        "<legend>Mode</legend>",
        "Restricted (administrators and moderators can add members)",
        "Unrestricted (any member can add other members)",
        "<legend>Channel Type</legend>",
        "Standard (only one channel will be created with standard limit)",
        "Elastic (automatically creates new channels as old ones reaches threshold)",
        ">Maximum sub-channels</label>",
        ">Target memberships per sub-channel</label>",
        ">Minimum membership % for scale-in</label>",
        ">Cancel</a>",
        ">Add</button>",
    ):
        assert label in html, label
    assert re.search(r'<input type="text" name="moderator" value="member"[^>]*disabled', html)
    for name, value in (("maximum_subchannels", 2), ("target_memberships_per_subchannel", 4),
                        ("minimum_membership_percentage", 40)):  # fmt: skip
        assert re.search(rf'name="{name}" value="{value}"', html)
    assert "js/channel-form.js" in html


ELASTIC = {"channel_type": ChannelType.ELASTIC}


def form_data(**fields) -> dict:
    return {
        "name": "Birding",
        "privacy": Privacy.PRIVATE,
        "mode": Mode.RESTRICTED,
        "channel_type": ChannelType.STANDARD,
        # Without JavaScript the elastic fields are always posted with their defaults.
        "maximum_subchannels": "2",
        "target_memberships_per_subchannel": "4",
        "minimum_membership_percentage": "40",
        **fields,
    }


@pytest.mark.django_db
def test_adding_a_private_restricted_channel_without_javascript(client, member):
    response = signed_in(client, member).post(CREATE, form_data(moderator="someone-else"), follow=True)
    channel = Channel.objects.get()
    assert response.redirect_chain[-1][0] == detail(channel)
    assert (channel.privacy, channel.mode, channel.channel_type, channel.maximum_subchannels) == (
        Privacy.PRIVATE, Mode.RESTRICTED, ChannelType.STANDARD, None)  # fmt: skip
    assert Membership.objects.get(channel=channel).user == member  # the moderator field cannot be forged
    assert "You are its moderator." in response.content.decode()


@pytest.mark.django_db
def test_mode_is_ignored_for_public_channels(client, member):
    signed_in(client, member).post(CREATE, form_data(privacy=Privacy.PUBLIC, mode=Mode.UNRESTRICTED))
    assert Channel.objects.get().mode == Mode.RESTRICTED


@pytest.mark.django_db
def test_adding_an_elastic_channel(client, member):
    data = form_data(channel_type=ChannelType.ELASTIC, privacy=Privacy.PUBLIC, maximum_subchannels="5",
                     target_memberships_per_subchannel="100", minimum_membership_percentage="10")  # fmt: skip
    signed_in(client, member).post(CREATE, data)
    channel = Channel.objects.get()
    assert (channel.maximum_subchannels, channel.target_memberships_per_subchannel, channel.capacity) == (5, 100, 500)
    assert SubChannel.objects.filter(channel=channel).count() == 1
    assert ModeratorSeat.objects.filter(membership__user=member).count() == 1


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"name": ""}, "Enter a channel name."),
        ({"name": "   "}, "Enter a channel name."),
        ({"privacy": ""}, "This field is required."),
        ({"privacy": "hidden"}, "Select a valid choice."),
        ({**ELASTIC, "maximum_subchannels": "1"}, "greater than or equal to 2"),
        ({**ELASTIC, "target_memberships_per_subchannel": "1001"}, "less than or equal to 1000"),
        ({**ELASTIC, "minimum_membership_percentage": "41"}, "less than or equal to 40"),
        ({**ELASTIC, "maximum_subchannels": ""}, "Required for elastic channels."),
        (
            {**ELASTIC, "maximum_subchannels": "1001",
             "target_memberships_per_subchannel": "1000"},
            "Capacity (maximum sub-channels × target memberships per sub-channel) would be 1,001,000; "
            "it cannot exceed 1,000,000.",
        ),
    ],
)  # fmt: skip
def test_every_field_is_validated_on_the_server(client, member, fields, message):
    response = signed_in(client, member).post(CREATE, form_data(**fields))
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not Channel.objects.exists()


@pytest.mark.django_db
def test_actions_are_shown_only_to_those_allowed(client, make_user, make_channel):
    owner, plain = make_user("owner"), make_user("plain")
    channel = make_channel(owner, privacy=Privacy.PRIVATE)
    add_members(actor=owner, channel=channel, users=[plain])

    as_owner = signed_in(Client(), owner).get(detail(channel)).content.decode()
    as_member = signed_in(Client(), plain).get(detail(channel)).content.decode()
    for action in ("chat-edit", "chat-delete", "chat-add-member"):
        path = reverse(action, kwargs={"channel_id": channel.pk})
        assert path in as_owner and path not in as_member
    for action in ("chat-remove-member", "chat-promote", "chat-ban"):
        path = reverse(action, kwargs={"channel_id": channel.pk, "user_id": plain.pk})
        assert path in as_owner and path not in as_member
    assert 'data-testid="bans"' in as_owner and 'data-testid="bans"' not in as_member
    assert "Leave channel" in as_member and "Join channel" not in as_member
    assert "Message owner" in as_member and "Message plain" in as_owner
    assert as_owner.count('name="csrfmiddlewaretoken"') >= 6


@pytest.mark.django_db
def test_a_banned_user_reads_a_public_channel_but_cannot_join(client, member, outsider, make_channel):
    channel = make_channel(member)
    ban_user(actor=member, channel=channel, user=outsider)
    html = signed_in(client, outsider).get(detail(channel)).content.decode()
    assert "You are banned from this channel." in html and "Join channel" not in html
    assert channel.name not in section(signed_in(client, outsider).get(LIST).content.decode(), "joinable-channels")
    response = client.post(reverse("chat-join", kwargs={"channel_id": channel.pk}))
    assert response.status_code == 403 and "You are banned from this channel." in response.content.decode()


@pytest.mark.django_db
def test_members_are_paginated(client, make_user, make_channel):
    owner = make_user("owner")
    channel = make_channel(owner)
    add_members(actor=owner, channel=channel, users=[make_user(f"p{index:02d}") for index in range(60)])
    signed_in(client, owner)
    first = client.get(detail(channel)).content.decode()
    second = client.get(detail(channel), {"page": 2}).content.decode()
    assert "p00" in first and "p49" in first and "p50" not in first
    assert "p50" in second and "p59" in second and "Page 2 of 2" in second


@pytest.mark.django_db
def test_member_search_by_name_prefix(client, make_user, make_channel):
    owner = make_user("owner")
    channel = make_channel(owner, privacy=Privacy.PRIVATE)
    add_members(actor=owner, channel=channel, users=[make_user("anna")])
    make_user("annabel"), make_user("Annie"), make_user("bob"), make_user("anne", is_active=False)
    search = reverse("chat-member-search", kwargs={"channel_id": channel.pk})
    response = signed_in(client, owner).get(search, {"q": "ann"})
    assert [user["username"] for user in response.json()["users"]] == ["annabel", "Annie"]
    plain = make_user("plain")
    add_members(actor=owner, channel=channel, users=[plain])
    assert signed_in(Client(), plain).get(search, {"q": "ann"}).status_code == 403


@pytest.mark.django_db
def test_adding_a_member_by_name(client, make_user, make_channel):
    owner = make_user("owner")
    channel = make_channel(owner, privacy=Privacy.PRIVATE)
    make_user("Carol")
    add = reverse("chat-add-member", kwargs={"channel_id": channel.pk})
    missing = signed_in(client, owner).post(add, {"username": "nobody"})
    assert missing.status_code == 400 and "No active member has that user name." in missing.content.decode()
    response = client.post(add, {"username": "carol"}, follow=True)
    assert "Carol added." in response.content.decode()
    again = client.post(add, {"username": "carol"}, follow=True)
    assert "Already a member of this channel." in again.content.decode()


@pytest.mark.django_db
def test_edit_form_errors_re_render_the_page(client, member, make_channel):
    channel = make_channel(member, privacy=Privacy.PRIVATE)
    response = signed_in(client, member).post(reverse("chat-edit", kwargs={"channel_id": channel.pk}), {"name": ""})
    page = response.content.decode()
    assert response.status_code == 400 and page.count("Enter a channel name.") == 1


@pytest.mark.django_db
def test_message_user_opens_one_direct_channel(client, member, outsider):
    signed_in(client, member)
    first = client.post(reverse("chat-direct", kwargs={"user_id": outsider.pk}))
    second = client.post(reverse("chat-direct", kwargs={"user_id": outsider.pk}))
    channel = Channel.objects.get(is_direct=True)
    # "Message outsider" opens the conversation itself, not the channel's details.
    assert first.url == second.url == reverse("chat-conversation", kwargs={"channel_id": channel.pk})
    html = client.get(detail(channel)).content.decode()
    assert "Direct messages" in html and "Delete channel" not in html and "Add members" not in html
    assert client.post(reverse("chat-direct", kwargs={"user_id": member.pk})).status_code == 403


@pytest.mark.django_db
def test_moderators_list_and_join_subchannels(client, make_user, make_elastic):
    owner, plain = make_user("owner"), make_user("plain")
    channel = make_elastic(owner, maximum=3, target=2)
    add_members(actor=owner, channel=channel, users=[plain, make_user("x"), make_user("y")])
    second = SubChannel.objects.get(channel=channel, number=2)
    join = reverse("chat-join-subchannel", kwargs={"channel_id": channel.pk, "subchannel_id": second.pk})
    as_plain = signed_in(Client(), plain).get(detail(channel)).content.decode()
    assert 'data-testid="subchannels"' not in as_plain
    signed_in(client, owner)
    html = client.get(detail(channel)).content.decode()
    assert "Join sub-channel #2" in html and "Join sub-channel #1" not in html
    response = client.post(join, follow=True)
    assert "You now sit in sub-channel 2." in response.content.decode()
    assert ModeratorSeat.objects.filter(membership__user=owner).count() == 2
    assert signed_in(Client(), plain).post(join).status_code == 403


@pytest.mark.django_db
def test_actions_need_post_and_a_csrf_token(member, make_channel):
    channel = make_channel(member)
    client = Client(enforce_csrf_checks=True)
    client.force_login(member)
    leave = reverse("chat-leave", kwargs={"channel_id": channel.pk})
    assert client.get(leave).status_code == 405
    assert client.post(leave).status_code == 403
    assert Membership.objects.filter(channel=channel, user=member, role=Role.MODERATOR).exists()


@pytest.mark.django_db
def test_leaving_a_private_channel_lands_on_the_list(client, member, make_channel):
    channel = make_channel(member, privacy=Privacy.PRIVATE)
    response = signed_in(client, member).post(reverse("chat-leave", kwargs={"channel_id": channel.pk}), follow=True)
    assert response.redirect_chain[-1][0] == LIST
    assert client.get(detail(channel)).status_code == 404
