"""chat/web/messages.py: editing and deleting one message without JavaScript, by plain forms."""

from __future__ import annotations

import uuid

import pytest
from django.urls import reverse

from chat.models import Message, Privacy
from chat.services.memberships import add_members
from chat.services.messages import send_message


def say(user, channel, text="**hello** [there](https://example.org)"):
    return send_message(actor=user, channel_id=channel.pk, content=text, client_msg_id=uuid.uuid4()).message


@pytest.fixture
def room(make_user, make_channel):
    mod, ann, bob = make_user("mod"), make_user("ann"), make_user("bob")
    channel = make_channel(mod, name="Knitting", privacy=Privacy.PRIVATE)
    add_members(actor=mod, channel=channel, users=[ann, bob])
    return channel, mod, ann, bob


def url(name, message):
    return reverse(name, args=[message.pk])


@pytest.mark.django_db
def test_the_author_edits_the_stored_markdown_and_an_unchanged_save_changes_nothing(client, room):
    channel, _, ann, _ = room
    message = say(ann, channel)
    client.force_login(ann)
    page = client.get(url("chat-message-edit", message)).content.decode()
    assert "**hello** [there](https://example.org)</textarea>" in page
    back = f"/channels/{channel.pk}/messages/?stream={channel.pk}#m{message.pk}"
    response = client.post(url("chat-message-edit", message), {"content": message.content})
    assert response.status_code == 302 and response.url == back
    message.refresh_from_db()
    assert message.edited_at is None
    client.post(url("chat-message-edit", message), {"content": "**hello** again"})
    message.refresh_from_db()
    assert (message.html, message.edited_at is not None) == ("<p><strong>hello</strong> again</p>", True)


@pytest.mark.django_db
def test_an_empty_edit_is_refused_with_the_reason(client, room):
    channel, _, ann, _ = room
    message = say(ann, channel)
    client.force_login(ann)
    response = client.post(url("chat-message-edit", message), {"content": "   "})
    assert response.status_code == 400 and "Type a message first." in response.content.decode()


@pytest.mark.django_db
def test_only_the_author_edits_and_outsiders_get_the_same_404_as_a_missing_message(client, room, outsider):
    channel, mod, ann, _ = room
    message = say(ann, channel)
    client.force_login(mod)
    assert client.get(url("chat-message-edit", message)).status_code == 403
    client.force_login(outsider)
    for name in ("chat-message-edit", "chat-message-delete", "chat-message-remove"):
        assert client.get(url(name, message)).status_code == 404
        assert client.get(reverse(name, args=[999999])).status_code == 404


@pytest.mark.django_db
def test_delete_asks_first_then_leaves_deleted_in_its_place(client, room):
    channel, mod, ann, bob = room
    message = say(ann, channel)
    client.force_login(bob)
    assert client.get(url("chat-message-delete", message)).status_code == 403  # another member's message
    client.force_login(mod)
    page = client.get(url("chat-message-delete", message)).content.decode()
    assert "Delete this message?" in page and "<strong>hello</strong>" in page
    assert Message.objects.get(pk=message.pk).redacted_at is None  # asking changes nothing
    response = client.post(url("chat-message-delete", message), follow=True)
    assert "Message deleted." in response.content.decode()
    assert Message.objects.get(pk=message.pk).redacted_at is not None


@pytest.mark.django_db
def test_only_administrators_remove_entirely(client, room, admin_user):
    channel, mod, ann, _ = room
    message = say(ann, channel)
    client.force_login(mod)
    assert client.post(url("chat-message-remove", message)).status_code == 403
    client.force_login(admin_user)
    assert "Remove this message entirely?" in client.get(url("chat-message-remove", message)).content.decode()
    client.post(url("chat-message-remove", message))
    assert not Message.objects.filter(pk=message.pk).exists()
