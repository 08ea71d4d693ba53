"""The sidebar of every signed-in page (chat/web/sidebar.py, templates/chat/_sidebar.html)."""

from __future__ import annotations

import json
import re
import uuid

import pytest
from django.urls import reverse

from chat.models import Privacy
from chat.services.channels import open_direct_channel
from chat.services.memberships import add_members
from chat.services.messages import send_message


def say(user, channel, text):
    send_message(actor=user, channel_id=channel.pk, content=text, client_msg_id=uuid.uuid4())


def state(page: str) -> dict:
    return json.loads(re.search(r'<script id="sidebar-state" type="application/json">(.*?)</script>', page).group(1))


@pytest.mark.django_db
def test_every_signed_in_page_lists_my_channels_and_conversations_with_counts(client, make_user, make_channel):
    ann, bob = make_user("ann"), make_user("bob")
    chess = make_channel(ann, name="Chess", privacy=Privacy.PRIVATE)
    add_members(actor=ann, channel=chess, users=[bob])
    direct = open_direct_channel(actor=ann, other=bob)
    say(ann, chess, "hi @bob")
    say(ann, direct, "psst")
    client.force_login(bob)
    for page_url in (reverse("chat-channels"), reverse("chat-create"), reverse("accounts-settings")):
        page = client.get(page_url).content.decode()
        assert 'aria-label="Channels and direct messages"' in page, page_url
        assert page.count('class="sidebar-item') == 2
        assert "<title>(2) " in page  # unread messages, in the tab's title
    assert state(page) == {
        str(chess.pk): {"unread": {str(chess.pk): 1}, "mentions": {str(chess.pk): 1}, "direct": False},
        str(direct.pk): {"unread": {str(direct.pk): 1}, "mentions": {str(direct.pk): 1}, "direct": True},
    }
    conversation = client.get(reverse("chat-conversation", args=[chess.pk])).content.decode()
    current = re.search(r'<li class="sidebar-item is-current" data-channel="(\d+)">', conversation)
    assert current and int(current.group(1)) == chess.pk
    assert 'aria-current="page"' in conversation


@pytest.mark.django_db
def test_no_sidebar_for_people_signed_out(client):
    page = client.get("/").content.decode()
    assert "sidebar" not in page and "client-icons" not in page


@pytest.mark.django_db
@pytest.mark.parametrize("size", [2, 10])
def test_the_sidebar_costs_the_same_queries_whatever_the_number_of_channels(
    client, make_user, make_channel, size, django_assert_max_num_queries
):
    me = make_user("me")
    client.force_login(me)
    client.get(reverse("accounts-settings"))  # a first request settles the session
    for index in range(size):
        channel = make_channel(me, name=f"channel {index}", privacy=Privacy.PRIVATE)
        friend = make_user(f"friend{index}")
        add_members(actor=me, channel=channel, users=[friend])
        for number in range(size):
            say(friend, channel, f"message {number}")
        say(friend, open_direct_channel(actor=friend, other=me), "hello")
    # session, user, profile, the settings page's profile; the sidebar's 6
    with django_assert_max_num_queries(11):
        page = client.get(reverse("accounts-settings")).content.decode()
    assert page.count('class="sidebar-item') == 2 * size
