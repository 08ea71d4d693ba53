import uuid

import pytest
from django.urls import reverse

from chat.models import Privacy
from chat.services import messages as message_service
from chat.services import search as search_service


def say(user, channel, content):
    return message_service.send_message(
        actor=user, channel_id=channel.pk, content=content, client_msg_id=uuid.uuid4()
    ).message


def page(client, **params):
    response = client.get(reverse("chat-search"), params)
    assert response.status_code == 200
    return response.content.decode()


@pytest.mark.django_db
def test_results_are_highlighted_escaped_and_link_to_the_message(client, room):
    channel, mod, ann = room
    message = say(mod, channel, "<script>x</script> spare wool")
    client.force_login(ann)
    html = page(client, q="wool")
    assert "<mark>wool</mark>" in html
    assert "&lt;script&gt;x&lt;/script&gt;" in html and "<script>x" not in html
    assert reverse("chat-permalink", args=[channel.pk, message.pk]) in html


@pytest.mark.django_db
def test_outsiders_find_nothing_in_private_channels(client, room, outsider):
    channel, mod, _ = room
    say(mod, channel, "secret wool")
    client.force_login(outsider)
    html = page(client, q="wool")
    assert "secret" not in html and 'data-testid="search-empty"' in html


@pytest.mark.django_db
def test_the_controls_filter_like_the_query_language(client, room, make_channel):
    channel, mod, ann = room
    say(ann, channel, "wool by ann")
    say(mod, channel, "wool by mod")
    client.force_login(ann)
    html = page(client, q="wool", author="@mod")
    assert "by mod" in html and "by ann" not in html
    assert "by ann" in page(client, q="wool", channel="#knitting")
    assert 'data-testid="search-empty"' in page(client, q="wool", has_file="on")


@pytest.mark.django_db
def test_pages_link_to_each_other_and_take_constant_queries(client, room, make_channel, django_assert_max_num_queries):
    channel, mod, ann = room
    client.force_login(ann)
    say(mod, channel, "wool first")
    page(client, q="wool")
    with django_assert_max_num_queries(40) as few:
        page(client, q="wool")
    for index in range(search_service.PAGE_SIZE + 3):
        say(mod, make_channel(mod, name=f"Public {index}", privacy=Privacy.PUBLIC), f"wool {index}")
    with django_assert_max_num_queries(len(few)):
        html = page(client, q="wool")
    assert 'rel="next"' in html and "page=2" in html
    assert 'rel="prev"' in page(client, q="wool", page=2)


@pytest.mark.django_db
def test_signed_out_people_are_sent_to_sign_in(client):
    assert client.get(reverse("chat-search"), {"q": "wool"}).status_code == 302
