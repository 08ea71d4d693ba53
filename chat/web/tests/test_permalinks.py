import uuid

import pytest
from django.urls import reverse

from chat.models import Message
from chat.services import history
from chat.services import messages as message_service


def say(user, channel, content="hello"):
    return message_service.send_message(
        actor=user, channel_id=channel.pk, content=content, client_msg_id=uuid.uuid4()
    ).message


def permalink(message, channel_id=None):
    return reverse("chat-permalink", args=[channel_id or message.channel_id, message.pk])


@pytest.mark.django_db
def test_a_reader_is_taken_to_the_page_around_the_message_marked(client, room):
    channel, mod, ann = room
    messages = [say(mod, channel, f"note {index}") for index in range(history.PAGE_SIZE * 2)]
    target = messages[10]
    client.force_login(ann)
    response = client.get(permalink(target))
    assert response.status_code == 302
    assert response.url.endswith(f"#m{target.pk}")
    page = client.get(response.url)
    assert page.status_code == 200
    html = page.content.decode()
    assert f'id="m{target.pk}"' in html
    # The page holds messages after it as well as before it.
    assert f'id="m{messages[11].pk}"' in html and f'id="m{messages[9].pk}"' in html


@pytest.mark.django_db
def test_outsiders_missing_ids_and_wrong_channels_are_all_404(client, room, outsider, make_channel):
    channel, mod, ann = room
    message = say(mod, channel)
    other = make_channel(ann, name="Elsewhere")
    client.force_login(outsider)
    assert client.get(permalink(message)).status_code == 404
    client.force_login(ann)
    assert client.get(reverse("chat-permalink", args=[channel.pk, message.pk + 999])).status_code == 404
    assert client.get(permalink(message, channel_id=other.pk)).status_code == 404
    assert client.get(permalink(message)).status_code == 302


@pytest.mark.django_db
def test_signed_out_people_are_sent_to_sign_in(client, room):
    channel, mod, _ = room
    response = client.get(permalink(say(mod, channel)))
    assert response.status_code == 302
    assert response.url.endswith(f"?next={permalink(Message.objects.get())}")
