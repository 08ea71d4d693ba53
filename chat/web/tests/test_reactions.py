import uuid

import pytest
from django.urls import reverse

from chat.models import Reaction
from chat.services import messages as message_service


def say(user, channel, content="hello", **kwargs):
    return message_service.send_message(
        actor=user, channel_id=channel.pk, content=content, client_msg_id=uuid.uuid4(), **kwargs
    ).message


@pytest.mark.django_db
def test_reacting_without_javascript_adds_removes_and_goes_back_to_the_message(client, room):
    channel, mod, ann = room
    message = say(mod, channel)
    client.force_login(ann)
    response = client.post(reverse("chat-react", args=[message.pk]), {"emoji": "👍"})
    assert response.status_code == 302
    assert response.url == reverse("chat-permalink", args=[channel.pk, message.pk])
    assert list(Reaction.objects.values_list("user__username", "emoji")) == [("ann", "👍")]
    client.post(reverse("chat-react", args=[message.pk]), {"emoji": "👍", "remove": "1"})
    assert not Reaction.objects.exists()


@pytest.mark.django_db
def test_a_bad_emoji_is_flashed_not_stored(client, room):
    channel, mod, ann = room
    message = say(mod, channel)
    client.force_login(ann)
    response = client.post(reverse("chat-react", args=[message.pk]), {"emoji": "nope"})
    assert response.status_code == 302
    assert not Reaction.objects.exists()


@pytest.mark.django_db
def test_outsiders_get_404_and_members_cannot_clear(client, room, outsider):
    channel, mod, ann = room
    message = say(mod, channel)
    client.force_login(outsider)
    assert client.post(reverse("chat-react", args=[message.pk]), {"emoji": "👍"}).status_code == 404
    client.force_login(ann)
    client.post(reverse("chat-react", args=[message.pk]), {"emoji": "👍"})
    assert client.post(reverse("chat-clear-reactions", args=[message.pk])).status_code == 403
    client.force_login(mod)
    assert client.post(reverse("chat-clear-reactions", args=[message.pk])).status_code == 302
    assert not Reaction.objects.exists()


def page_html(client, channel):
    return client.get(reverse("chat-conversation", args=[channel.pk])).content.decode()


@pytest.mark.django_db
def test_the_page_shows_reactions_with_who_and_reply_quotes_in_constant_queries(
    client, room, django_assert_max_num_queries
):
    from chat.services import reactions as reaction_service

    channel, mod, ann = room
    client.force_login(ann)
    first = say(mod, channel, "who brings the wool?")
    reaction_service.add_reaction(actor=ann, message_id=first.pk, emoji="👍")
    reply = say(ann, channel, "reply", reply_to=first.pk)
    reaction_service.add_reaction(actor=mod, message_id=reply.pk, emoji="🎉")
    page_html(client, channel)
    with django_assert_max_num_queries(60) as few:
        page_html(client, channel)
    for index in range(9):
        reply = say(ann, channel, f"reply {index}", reply_to=first.pk)
        reaction_service.add_reaction(actor=mod, message_id=reply.pk, emoji="🎉")
    with django_assert_max_num_queries(len(few)):
        html = page_html(client, channel)
    assert 'title="ann"' in html and 'title="mod"' in html
    assert html.count('class="reply-quote"') == 10
    assert "who brings the wool?" in html
    message_service.redact_message(actor=mod, message_id=first.pk)
    assert page_html(client, channel).count("(original deleted)") == 10
