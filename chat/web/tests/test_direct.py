"""chat/web/direct.py: the "New message" people picker."""

from __future__ import annotations

import pytest
from django.urls import reverse

from chat.models import Channel, Privacy
from chat.services.memberships import add_members

PICKER = reverse("chat-direct-new")


@pytest.mark.django_db
def test_the_picker_offers_people_i_share_a_channel_with_and_searches_by_name(client, make_user, make_channel):
    ann, bob, cat = make_user("ann"), make_user("bob"), make_user("cat")
    make_user("stranger")
    channel = make_channel(ann, name="Chess", privacy=Privacy.PRIVATE)
    add_members(actor=ann, channel=channel, users=[bob, cat])
    client.force_login(ann)
    page = client.get(PICKER).content.decode()
    assert "Message bob" in page and "Message cat" in page and "stranger" not in page
    assert f'action="{reverse("chat-direct", args=[bob.pk])}"' in page
    page = client.get(PICKER, {"q": "bo"}).content.decode()
    assert "Message bob" in page and "Message cat" not in page
    assert "Nobody found for “zz”." in client.get(PICKER, {"q": "zz"}).content.decode()


@pytest.mark.django_db
def test_message_someone_opens_the_conversation(client, member, outsider):
    client.force_login(member)
    response = client.post(reverse("chat-direct", args=[outsider.pk]))
    channel = Channel.objects.get(is_direct=True)
    assert response.url == reverse("chat-conversation", args=[channel.pk])
    page = client.get(response.url).content.decode()
    assert '<h1 id="channel-name" data-testid="channel-name">outsider</h1>' in page


@pytest.mark.django_db
def test_the_picker_is_for_signed_in_people(client):
    assert client.get(PICKER).status_code == 302
