"""chat/admin/messages.py: messages (search, filters, edit history, redact, remove) and attachments."""

from __future__ import annotations

import pytest
from django.contrib.admin.models import CHANGE, DELETION, LogEntry
from django.urls import reverse
from django.utils import timezone

from chat.admin.tests.conftest import say
from chat.models import Attachment, Message
from chat.services.messages import edit_message


def listed(response) -> list[str]:
    return [message.content for message in response.context["cl"].result_list]


@pytest.mark.django_db
def test_moderators_search_and_filter_their_channels_messages(signed_in, community):
    client = signed_in(community.moderator_a)
    url = reverse("moderation:chat_message_changelist")
    everything = listed(client.get(url))
    assert "Glazes today" not in everything  # channel B's
    assert len(everything) == 3
    assert listed(client.get(url, {"q": "followers"})) == ["Buy cheap followers at spam.example"]
    assert set(listed(client.get(url, {"author": "Member"}))) == {"Anyone for the wool fair?", "Please don't."}
    today = timezone.localtime().replace(hour=0, minute=0, second=0, microsecond=0)
    assert len(listed(client.get(url, {"created_at__gte": str(today)}))) == 3
    assert listed(client.get(url, {"created_at__lt": str(today)})) == []
    assert listed(client.get(url, {"channel": community.channel_b.pk})) == []


@pytest.mark.django_db
def test_the_author_filter_keeps_the_other_filters(signed_in, community):
    client = signed_in(community.moderator_a)
    response = client.get(reverse("moderation:chat_message_changelist"), {"q": "wool", "author": "member"})
    html = response.content.decode()
    assert '<input type="hidden" name="q" value="wool">' in html
    assert 'name="author" value="member"' in html


@pytest.mark.django_db
def test_a_message_shows_its_edit_history_and_attachments(signed_in, community):
    edit_message(actor=community.author, message_id=community.message.pk, content="Edited offer")
    response = signed_in(community.moderator_a).get(
        reverse("moderation:chat_message_change", args=[community.message.pk])
    )
    html = response.content.decode()
    assert "Edit history" in html
    assert "Buy cheap followers at spam.example" in html  # the earlier text
    assert "offer.pdf" in html
    assert 'type="submit"' not in html.split('id="message_form"')[1].split("</form>")[0]  # read-only


@pytest.mark.django_db
def test_redact_action_goes_through_the_service_and_is_logged(signed_in, community):
    client = signed_in(community.moderator_a)
    client.post(
        reverse("moderation:chat_message_changelist"),
        {"action": "redact_selected", "_selected_action": [community.message.pk]},
    )
    message = Message.objects.get(pk=community.message.pk)
    assert (message.content, message.redacted_at is not None) == ("", True)
    assert Attachment.objects.get(pk=community.attachment.pk).state == "hidden"
    assert LogEntry.objects.filter(object_id=str(message.pk), action_flag=CHANGE).exists()


@pytest.mark.django_db
def test_moderators_cannot_remove_messages_entirely(signed_in, community):
    client = signed_in(community.moderator_a)
    response = client.get(reverse("moderation:chat_message_changelist"))
    assert "remove_selected" not in response.content.decode()
    client.post(
        reverse("moderation:chat_message_changelist"),
        {"action": "remove_selected", "_selected_action": [community.message.pk]},
    )
    assert Message.objects.filter(pk=community.message.pk).exists()


@pytest.mark.django_db
def test_administrators_remove_messages_entirely_and_the_log_keeps_it(signed_in, community):
    client = signed_in(community.administrator)
    client.post(
        reverse("admin:chat_message_changelist"),
        {"action": "remove_selected", "_selected_action": [community.message.pk]},
    )
    assert not Message.objects.filter(pk=community.message.pk).exists()
    assert LogEntry.objects.filter(object_id=str(community.message.pk), action_flag=DELETION).exists()


@pytest.mark.django_db
def test_attachments_of_the_moderators_channels_only(signed_in, community):
    client = signed_in(community.moderator_b)
    assert list(client.get(reverse("moderation:chat_attachment_changelist")).context["cl"].result_list) == []
    response = signed_in(community.moderator_a).get(reverse("moderation:chat_attachment_changelist"))
    assert [attachment.name for attachment in response.context["cl"].result_list] == ["offer.pdf"]
    assert reverse("chat-attachment-download", args=[community.attachment.pk]) in response.content.decode()


@pytest.mark.django_db
@pytest.mark.parametrize("model", ["message", "attachment"])
def test_list_queries_do_not_grow_with_rows(signed_in, community, model, django_assert_max_num_queries):
    client = signed_in(community.moderator_a)
    url = reverse(f"moderation:chat_{model}_changelist")
    with django_assert_max_num_queries(15) as few:
        client.get(url)
    for number in range(20):
        message = say(community.member if number % 2 else community.author, community.channel_a, f"More {number}")
        Attachment.objects.create(
            uploader=message.author,
            channel=community.channel_a,
            key=f"k/{number}",
            name=f"f{number}.txt",
            size=3,
            content_type="text/plain",
            state="attached",
            message=message,
        )
    with django_assert_max_num_queries(len(few)):
        response = client.get(url)
    assert response.context["cl"].result_count > 20
