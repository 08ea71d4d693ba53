"""The conversation page and its HTTP companions: history, older pages, the no-JS send, slow mode."""

from __future__ import annotations

import html as html_lib
import re
import uuid

import pytest
from django.conf import settings
from django.db import connection
from django.shortcuts import resolve_url
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from chat import events
from chat.models import Channel, Membership, Message, Privacy, Role, SubChannel
from chat.services import messages as service
from chat.services import ratelimit
from chat.services.memberships import add_members, ban_user
from chat.services.ratelimit import TokenBucket
from chat.streams import StreamKey

SLOW_MODE_REFUSED = "Slow mode takes a whole number of seconds from 0 to 3600."


def url(name: str, channel: Channel | int) -> str:
    return reverse(name, args=[channel if isinstance(channel, int) else channel.pk])


def signed_in(client, user):
    client.force_login(user)
    return client


def say(user, channel: Channel, content: str = "hello", **kwargs) -> Message:
    kwargs.setdefault("client_msg_id", uuid.uuid4())
    return service.send_message(actor=user, channel_id=channel.pk, content=content, **kwargs).message


def item(page: str, message: Message) -> str:
    """One message's <li> on a page."""
    match = re.search(rf'<li class="msg[^"]*" id="m{message.pk}".*?</li>', page, re.S)
    assert match, f"message {message.pk} is not on the page"
    return match.group(0)


def shown_seqs(page: str) -> list[int]:
    return [int(seq) for seq in re.findall(r'<li class="msg[^"]*" id="m\d+" data-id="\d+" data-seq="(\d+)"', page)]


def actions(fragment: str) -> set[str]:
    return set(re.findall(r'data-action="([a-z]+)"', fragment))


def flashed(page: str) -> list[str]:
    texts = re.findall(r'<li class="message message-\w+">(.*?)</li>', page, re.S)
    return [html_lib.unescape(re.sub(r"<[^>]+>", "", text)).strip() for text in texts]


def refusal(page: str) -> str:
    """The reason a send was refused, shown above the message box (which keeps the text)."""
    match = re.search(r'<p class="composer-error" id="composer-error" role="alert">(.*?)</p>', page, re.S)
    return html_lib.unescape(match.group(1)) if match else ""


def draft(page: str) -> str:
    match = re.search(r'<textarea id="id_content"[^>]*>(.*?)</textarea>', page, re.S)
    return html_lib.unescape(match.group(1)) if match else ""


@pytest.fixture
def room(make_channel, make_user):
    """A private channel: `mod` created it (moderator); `ann` and `bob` are members."""
    mod, ann, bob = make_user("mod"), make_user("ann"), make_user("bob")
    channel = make_channel(mod, name="Knitting", privacy=Privacy.PRIVATE)
    add_members(actor=mod, channel=channel, users=[ann, bob])
    return channel, mod, ann, bob


@pytest.fixture
def square(make_channel, make_user):
    """A public channel made by `owner`."""
    return make_channel(make_user("owner"), name="Town square", privacy=Privacy.PUBLIC)


# Access: anonymous people sign in first; a private channel is a missing channel to outsiders.

ROUTES = [
    pytest.param("chat-conversation", "get", {}, id="conversation"),
    pytest.param("chat-older-messages", "get", {"before": "10"}, id="older"),
    pytest.param("chat-send", "post", {"content": "hello"}, id="send"),
    pytest.param("chat-slow-mode", "post", {"seconds": "5"}, id="slow-mode"),
]
BAD_INPUT_ROUTES = [
    pytest.param("chat-older-messages", "get", {"before": "soon"}, id="older-bad-before"),
    pytest.param("chat-send", "post", {"content": ""}, id="send-empty"),
    pytest.param("chat-slow-mode", "post", {"seconds": "abc"}, id="slow-mode-bad-seconds"),
]


@pytest.mark.django_db
@pytest.mark.parametrize(("name", "method", "data"), ROUTES)
def test_anonymous_visitors_are_sent_to_sign_in(client, room, name, method, data):
    channel, *_ = room
    response = getattr(client, method)(url(name, channel), data)
    assert response.status_code == 302
    assert response.url.startswith(resolve_url(settings.LOGIN_URL) + "?next=")
    assert Message.objects.count() == 0


@pytest.mark.django_db
@pytest.mark.parametrize("who", ["outsider", "banned ex-member"])
@pytest.mark.parametrize(("name", "method", "data"), ROUTES + BAD_INPUT_ROUTES)
def test_a_private_channel_is_the_same_404_as_a_missing_one(client, room, outsider, who, name, method, data):
    channel, mod, _, bob = room
    say(mod, channel, "members only")
    person = outsider if who == "outsider" else bob
    if who == "banned ex-member":
        ban_user(actor=mod, channel=channel, user=bob)
    signed_in(client, person)
    hidden = getattr(client, method)(url(name, channel), data)
    missing = getattr(client, method)(url(name, channel.pk + 1000), data)
    assert hidden.status_code == missing.status_code == 404
    assert hidden.content == missing.content and b"Knitting" not in hidden.content
    assert Message.objects.count() == 1
    assert not Membership.objects.filter(user=person).exists()
    channel.refresh_from_db()
    assert channel.slow_mode_seconds == 0


# The conversation page


@pytest.mark.django_db
@pytest.mark.parametrize(("count", "has_older"), [(1, False), (50, False), (51, True), (63, True)])
def test_page_shows_the_latest_50_oldest_first_and_offers_older_only_when_there_are_more(
    client, room, count, has_older
):
    channel, mod, ann, _ = room
    sent = [say(ann if index % 2 else mod, channel, f"note {index}") for index in range(count)]
    page = signed_in(client, ann).get(url("chat-conversation", channel)).content.decode()
    latest = sent[-50:]
    assert shown_seqs(page) == [message.seq for message in latest]
    assert f"<p>note {count - 1}</p>" in page
    assert all(f"<p>note {index}</p>" not in page for index in range(count - 50))
    assert ("Load older messages" in page) is has_older
    if has_older:
        assert f'id="load-older" data-before="{latest[0].seq}"' in page
    assert "No messages yet" not in page


@pytest.mark.django_db
def test_an_empty_channel_invites_the_first_message(client, room):
    channel, _, ann, _ = room
    page = signed_in(client, ann).get(url("chat-conversation", channel)).content.decode()
    assert "No messages yet. Say hello!" in page and "Load older messages" not in page
    assert shown_seqs(page) == []


@pytest.mark.django_db
def test_redacted_messages_show_deleted_and_edited_ones_say_so(client, room):
    channel, mod, ann, _ = room
    plain = say(ann, channel, "nothing to see")
    edited = say(ann, channel, "frist")
    service.edit_message(actor=ann, message_id=edited.pk, content="first, fixed")
    redacted = say(ann, channel, "my secret phone number")
    edited_then_redacted = say(ann, channel, "embarrassing")
    service.edit_message(actor=ann, message_id=edited_then_redacted.pk, content="embarrassing indeed")
    for message in (redacted, edited_then_redacted):
        service.redact_message(actor=mod, message_id=message.pk)

    page = signed_in(client, ann).get(url("chat-conversation", channel)).content.decode()
    assert "secret phone number" not in page and "embarrassing" not in page and "frist" not in page
    for message in (redacted, edited_then_redacted):
        shown = item(page, message)
        assert "<em>(Deleted)</em>" in shown and "msg-redacted" in shown
        assert '<span class="msg-edited" hidden>(edited)</span>' in shown
        assert actions(shown) == set()
    assert '<span class="msg-edited">(edited)</span>' in item(page, edited)
    assert "first, fixed" in item(page, edited)
    assert '<span class="msg-edited" hidden>(edited)</span>' in item(page, plain)
    assert "(Deleted)" not in item(page, plain)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("viewer", "on_anns", "on_mods"),
    [
        ("ann", {"edit", "redact"}, set()),
        ("bob", set(), set()),
        ("mod", {"redact"}, {"edit", "redact"}),
        ("admin", {"redact", "delete"}, {"redact", "delete"}),
    ],
)
def test_edit_is_for_authors_delete_for_authors_and_moderators_remove_for_admins(
    client, room, admin_user, viewer, on_anns, on_mods
):
    channel, mod, ann, bob = room
    anns, mods = say(ann, channel, "from ann"), say(mod, channel, "from mod")
    person = {"ann": ann, "bob": bob, "mod": mod, "admin": admin_user}[viewer]
    page = signed_in(client, person).get(url("chat-conversation", channel)).content.decode()
    assert actions(item(page, anns)) == on_anns
    assert actions(item(page, mods)) == on_mods
    labels = {"edit": ">Edit</a>", "redact": ">Delete</a>", "delete": ">Remove entirely</a>"}
    for action, label in labels.items():
        assert (label in item(page, anns)) is (action in on_anns)


@pytest.mark.django_db
def test_page_carries_what_the_script_needs(client, room):
    channel, mod, ann, _ = room
    say(ann, channel, "one")
    say(mod, channel, "two")
    key = str(StreamKey(channel.pk))
    page = signed_in(client, ann).get(url("chat-conversation", channel)).content.decode()
    last_seq = events.last_seq(StreamKey(channel.pk))
    assert last_seq >= 2
    assert f'data-channel="{channel.pk}" data-stream="{key}" data-last-seq="{last_seq}"' in page
    assert f'data-user-id="{ann.pk}" data-username="ann" data-member="1"' in page
    assert 'data-manages="0" data-admin="0"' in page
    assert f'data-older-url="{url("chat-older-messages", channel)}?stream={key}"' in page
    assert f'action="{url("chat-send", channel)}"' in page
    assert "slow-mode-form" not in page  # members do not set slow mode
    assert 'data-manages="1"' in signed_in(client, mod).get(url("chat-conversation", channel)).content.decode()


@pytest.mark.django_db
def test_public_channel_visitors_read_and_are_told_that_sending_joins(client, square, outsider):
    owner = square.created_by
    say(owner, square, "welcome, everyone")
    page = signed_in(client, outsider).get(url("chat-conversation", square)).content.decode()
    assert "welcome, everyone" in page
    assert "Sending a message joins this public channel." in page
    assert 'data-member="0"' in page and 'id="composer"' in page
    assert not Membership.objects.filter(channel=square, user=outsider).exists()  # reading does not join
    page = signed_in(client, owner).get(url("chat-conversation", square)).content.decode()
    assert "Sending a message joins" not in page


@pytest.mark.django_db
def test_banned_people_reading_a_public_channel_cannot_send(client, square, outsider):
    ban_user(actor=square.created_by, channel=square, user=outsider)
    page = signed_in(client, outsider).get(url("chat-conversation", square)).content.decode()
    assert "You cannot send messages in this channel." in page and 'id="composer"' not in page


@pytest.mark.django_db
def test_page_queries_do_not_grow_with_messages_or_members(client, make_user, make_channel):
    owner = make_user("owner")
    channel = make_channel(owner, privacy=Privacy.PRIVATE)
    page_url = url("chat-conversation", channel)

    def grow(members: int, messages: int) -> None:
        have = Membership.objects.filter(channel=channel).count()
        newcomers = [make_user(f"person{index}") for index in range(have, members)]
        add_members(actor=owner, channel=channel, users=newcomers)
        authors = list(Membership.objects.filter(channel=channel).select_related("user"))
        for index in range(Message.objects.filter(channel=channel).count(), messages):
            say(authors[index % len(authors)].user, channel, f"message {index} for @person1")

    def measure() -> tuple[int, str]:
        with CaptureQueriesContext(connection) as queries:
            response = client.get(page_url)
        assert response.status_code == 200
        return len(queries), response.content.decode()

    signed_in(client, owner).get(page_url)  # warm up the session
    grow(members=3, messages=5)
    few, page = measure()
    assert len(shown_seqs(page)) == 5 and page.count('<li data-user-id="') == 3
    grow(members=40, messages=80)
    many, page = measure()
    assert len(shown_seqs(page)) == 50 and page.count('<li data-user-id="') == 40
    assert few == many, (few, many)


# Elastic channels: one sub-channel's messages at a time


@pytest.fixture
def elastic_room(make_elastic, make_user):
    """A private elastic channel of two sub-channels: `owner` moderates; `ann` and `cat` sit apart."""
    owner = make_user("owner")
    channel = make_elastic(owner, maximum=3, target=2, privacy=Privacy.PRIVATE)
    joiners = [make_user(name) for name in ("ann", "bob", "cat")]
    add_members(actor=owner, channel=channel, users=joiners)
    seats = dict(Membership.objects.filter(channel=channel, role=Role.MEMBER).values_list("user", "subchannel"))
    ann = joiners[0]
    cat = next(user for user in joiners if seats[user.pk] != seats[ann.pk])
    say(ann, channel, "hello from the ann seat")
    say(cat, channel, "hello from the cat seat")
    anns_key, cats_key = (str(StreamKey(channel.pk, seats[user.pk])) for user in (ann, cat))
    return channel, owner, ann, cat, anns_key, cats_key


@pytest.mark.django_db
def test_elastic_member_reads_only_their_own_subchannel(client, elastic_room):
    channel, _, ann, _, anns_key, _ = elastic_room
    page = signed_in(client, ann).get(url("chat-conversation", channel)).content.decode()
    assert "hello from the ann seat" in page and "cat seat" not in page
    assert f'data-stream="{anns_key}"' in page


@pytest.mark.django_db
@pytest.mark.parametrize("other", ["cat's stream", "garbage", "another channel's stream"])
def test_elastic_member_asking_for_another_stream_gets_their_own(client, elastic_room, other):
    channel, _, ann, _, anns_key, cats_key = elastic_room
    requested = {"cat's stream": cats_key, "garbage": "x:y", "another channel's stream": "999999"}[other]
    signed_in(client, ann)
    response = client.get(url("chat-conversation", channel), {"stream": requested})
    assert response.status_code == 200
    page = response.content.decode()
    assert f'data-stream="{anns_key}"' in page and "cat seat" not in page
    older = client.get(url("chat-older-messages", channel), {"stream": requested, "before": "1000"}).json()
    assert "the ann seat" in older["html"] and "cat seat" not in older["html"]


@pytest.mark.django_db
def test_moderators_pick_a_subchannel_with_stream(client, elastic_room):
    channel, owner, _, _, anns_key, cats_key = elastic_room
    signed_in(client, owner)
    for key, shown, hidden in ((anns_key, "ann seat", "cat seat"), (cats_key, "cat seat", "ann seat")):
        page = client.get(url("chat-conversation", channel), {"stream": key}).content.decode()
        number = SubChannel.objects.get(pk=StreamKey.parse(key).subchannel_id).number
        assert f'data-stream="{key}"' in page and f"{channel.name} · room {number}</h1>" in page
        assert f"hello from the {shown}" in page and hidden not in page
        older = client.get(url("chat-older-messages", channel), {"stream": key, "before": "1000"}).json()
        assert f"hello from the {shown}" in older["html"] and hidden not in older["html"]


# Older messages


@pytest.mark.django_db
def test_paging_back_through_120_messages_returns_each_exactly_once(client, room):
    channel, mod, ann, _ = room
    sent = [say(ann if index % 3 else mod, channel, f"line {index}") for index in range(120)]
    signed_in(client, ann)
    page = client.get(url("chat-conversation", channel)).content.decode()
    seen = shown_seqs(page)
    before = int(re.search(r'id="load-older" data-before="(\d+)"', page).group(1))
    pages = []
    while True:
        response = client.get(url("chat-older-messages", channel), {"before": before})
        assert response.status_code == 200 and response["Content-Type"] == "application/json"
        body = response.json()
        assert set(body) == {"html", "has_older", "oldest_seq"}
        older = shown_seqs(body["html"])
        assert older == sorted(older) and older[-1] < before and body["oldest_seq"] == older[0]
        pages.append(len(older))
        seen = older + seen
        if not body["has_older"]:
            break
        before = body["oldest_seq"]
    assert pages == [50, 20]
    assert seen == [message.seq for message in sent]


@pytest.mark.django_db
def test_older_messages_render_like_the_page(client, room, admin_user):
    channel, _, ann, _ = room
    first = say(ann, channel, "old **news**")
    later = say(ann, channel, "newer")
    body = signed_in(client, admin_user).get(url("chat-older-messages", channel), {"before": later.seq}).json()
    assert body == {"html": body["html"], "has_older": False, "oldest_seq": first.seq}
    assert "<strong>news</strong>" in body["html"] and "newer" not in body["html"]
    assert actions(item(body["html"], first)) == {"redact", "delete"}


@pytest.mark.django_db
def test_nothing_older_than_the_first_message(client, room):
    channel, _, ann, _ = room
    say(ann, channel)
    body = signed_in(client, ann).get(url("chat-older-messages", channel), {"before": "1"}).json()
    assert (body["html"].strip(), body["has_older"], body["oldest_seq"]) == ("", False, None)


@pytest.mark.django_db
@pytest.mark.parametrize("before", [None, "", "abc", "1.5", "1e3"])
def test_older_messages_need_a_seq_number(client, room, before):
    channel, _, ann, _ = room
    query = {} if before is None else {"before": before}
    response = signed_in(client, ann).get(url("chat-older-messages", channel), query)
    assert response.status_code == 400
    assert response.json() == {"error": "`before` must be a seq number."}


# Sending without JavaScript


@pytest.mark.django_db
def test_send_stores_the_rendered_message_and_goes_back_to_the_page(client, room):
    channel, _, ann, _ = room
    client_msg_id = uuid.uuid4()
    response = signed_in(client, ann).post(
        url("chat-send", channel), {"content": "hi **all**", "client_msg_id": str(client_msg_id)}
    )
    # Back to the page, at its newest message (an anchor at the end of the list).
    assert response.status_code == 302 and response.url == url("chat-conversation", channel) + "#latest"
    message = Message.objects.get()
    assert (message.author, message.content, message.html) == (ann, "hi **all**", "<p>hi <strong>all</strong></p>")
    assert (message.client_msg_id, message.stream_id) == (client_msg_id, str(channel.pk))
    page = client.get(response.url).content.decode()
    assert "<p>hi <strong>all</strong></p>" in item(page, message) and flashed(page) == []


@pytest.mark.django_db
def test_send_without_a_client_msg_id_still_stores_one_message(client, room):
    channel, _, ann, _ = room
    response = signed_in(client, ann).post(url("chat-send", channel), {"content": "no script here"})
    assert response.status_code == 302
    assert Message.objects.get().client_msg_id is not None


@pytest.mark.django_db
def test_an_empty_form_is_sent_back_with_an_error_and_stores_nothing(client, room):
    channel, _, ann, _ = room
    response = signed_in(client, ann).post(url("chat-send", channel), {"content": ""}, follow=True)
    assert response.redirect_chain == [(url("chat-conversation", channel), 302)]
    assert flashed(response.content.decode()) == ["Type a message first."]
    assert Message.objects.count() == 0


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("content", "error"),
    [
        ("  \n ", "Type a message first."),
        ("é" * 2049, "A message can be at most 4096 bytes long."),
        ("x" * 4097, "A message can be at most 4096 bytes long."),
    ],
)
def test_refused_content_comes_back_in_the_box_with_the_reason_and_stores_nothing(client, room, content, error):
    channel, _, ann, _ = room
    response = signed_in(client, ann).post(url("chat-send", channel), {"content": content})
    page = response.content.decode()
    assert response.status_code == 400
    assert refusal(page) == error and draft(page) == content
    assert Message.objects.count() == 0


@pytest.mark.django_db
def test_exactly_4096_bytes_is_accepted(client, room):
    channel, _, ann, _ = room
    signed_in(client, ann).post(url("chat-send", channel), {"content": "é" * 2048})
    assert len(Message.objects.get().content.encode()) == 4096


@pytest.mark.django_db
def test_a_retried_post_stores_one_message(client, room):
    channel, _, ann, _ = room
    data = {"content": "only once", "client_msg_id": str(uuid.uuid4())}
    signed_in(client, ann)
    for _ in range(3):
        assert client.post(url("chat-send", channel), data).status_code == 302
    assert list(Message.objects.values_list("content", flat=True)) == ["only once"]


@pytest.mark.django_db
def test_a_visitor_of_a_public_channel_joins_by_sending(client, square, outsider):
    response = signed_in(client, outsider).post(url("chat-send", square), {"content": "hi, new here"}, follow=True)
    assert Membership.objects.filter(channel=square, user=outsider).exists()
    assert Message.objects.get().author == outsider
    page = response.content.decode()
    assert 'data-member="1"' in page and "Sending a message joins" not in page


@pytest.mark.django_db
def test_banned_people_get_an_error_and_nothing_is_stored(client, square, outsider):
    ban_user(actor=square.created_by, channel=square, user=outsider)
    response = signed_in(client, outsider).post(url("chat-send", square), {"content": "let me in"})
    assert response.status_code == 400 and refusal(response.content.decode()) == "You are banned from this channel."
    assert Message.objects.count() == 0
    assert not Membership.objects.filter(channel=square, user=outsider).exists()


@pytest.mark.django_db
def test_the_send_and_slow_mode_urls_take_only_post(client, room):
    channel, mod, ann, _ = room
    assert signed_in(client, ann).get(url("chat-send", channel), {"content": "hi"}).status_code == 405
    assert signed_in(client, mod).get(url("chat-slow-mode", channel), {"seconds": "5"}).status_code == 405
    assert client.post(url("chat-older-messages", channel), {"before": "5"}).status_code == 405
    assert Message.objects.count() == 0


# Slow mode


@pytest.mark.django_db
@pytest.mark.parametrize("who", ["mod", "admin"])
def test_moderators_and_admins_set_slow_mode_and_the_page_shows_it(client, room, admin_user, who):
    channel, mod, *_ = room
    signed_in(client, {"mod": mod, "admin": admin_user}[who])
    response = client.post(url("chat-slow-mode", channel), {"seconds": "30"}, follow=True)
    page = response.content.decode()
    assert response.redirect_chain == [(url("chat-conversation", channel), 302)]
    assert flashed(page) == ["Slow mode: one message every 30 s."]
    assert "· slow mode 30 s" in page and 'name="seconds" value="30"' in page
    channel.refresh_from_db()
    assert channel.slow_mode_seconds == 30

    page = client.post(url("chat-slow-mode", channel), {"seconds": "0"}, follow=True).content.decode()
    assert flashed(page) == ["Slow mode is off."] and "slow mode 30" not in page
    channel.refresh_from_db()
    assert channel.slow_mode_seconds == 0


@pytest.mark.django_db
@pytest.mark.parametrize("who", ["member", "public visitor"])
def test_members_cannot_set_slow_mode(client, room, square, outsider, who):
    channel, _, ann, _ = room
    channel, person = (channel, ann) if who == "member" else (square, outsider)
    response = signed_in(client, person).post(url("chat-slow-mode", channel), {"seconds": "30"}, follow=True)
    assert flashed(response.content.decode()) == ["Only moderators and administrators set slow mode."]
    channel.refresh_from_db()
    assert channel.slow_mode_seconds == 0
    assert not Membership.objects.filter(channel=square, user=outsider).exists()


@pytest.mark.django_db
@pytest.mark.parametrize("seconds", ["-1", "4000", "3601", "abc", "", "1.5"])
def test_bad_slow_mode_values_are_refused(client, room, seconds):
    channel, mod, *_ = room
    service.set_slow_mode(actor=mod, channel_id=channel.pk, seconds=10)
    response = signed_in(client, mod).post(url("chat-slow-mode", channel), {"seconds": seconds}, follow=True)
    assert flashed(response.content.decode()) == [SLOW_MODE_REFUSED]
    channel.refresh_from_db()
    assert channel.slow_mode_seconds == 10


@pytest.mark.django_db
def test_slow_mode_refuses_a_members_second_send_with_the_wait(client, room):
    channel, mod, ann, _ = room
    signed_in(client, mod).post(url("chat-slow-mode", channel), {"seconds": "60"}, follow=True)
    signed_in(client, ann)
    first = client.post(url("chat-send", channel), {"content": "first"}, follow=True)
    assert flashed(first.content.decode()) == []
    second = client.post(url("chat-send", channel), {"content": "second"})
    assert second.status_code == 429 and draft(second.content.decode()) == "second"
    error = refusal(second.content.decode())
    assert error.startswith("Slow mode is on: one message every 60 seconds. Wait ") and error.endswith(" s.")
    assert 0 < int(error.split("Wait ")[1].removesuffix(" s.")) <= 60
    assert list(Message.objects.filter(author=ann).values_list("content", flat=True)) == ["first"]
    signed_in(client, mod)
    for text in ("moderators", "are not slowed"):
        client.post(url("chat-send", channel), {"content": text})
    assert Message.objects.filter(author=mod).count() == 2


@pytest.mark.django_db
def test_sending_without_javascript_shares_the_send_rate(client, room, monkeypatch):
    channel, _, ann, _ = room
    bucket = TokenBucket(rate=0.01, burst=1)
    monkeypatch.setattr(ratelimit, "send_rate", lambda: bucket)
    signed_in(client, ann)
    assert flashed(client.post(url("chat-send", channel), {"content": "one"}, follow=True).content.decode()) == []
    refused = client.post(url("chat-send", channel), {"content": "two"})
    assert refused.status_code == 429 and draft(refused.content.decode()) == "two"
    assert refusal(refused.content.decode()) == "You are sending too fast; slow down a little."
    assert list(Message.objects.filter(author=ann).values_list("content", flat=True)) == ["one"]


@pytest.mark.django_db
def test_a_moderator_sending_without_javascript_never_lands_in_a_subchannel_they_are_not_viewing(client, elastic_room):
    channel, owner, _, _, anns_key, cats_key = elastic_room
    page = signed_in(client, owner).get(url("chat-conversation", channel), {"stream": cats_key}).content.decode()
    assert f'name="stream" value="{cats_key}"' in page  # what the page's form posts back
    response = client.post(
        url("chat-send", channel), {"content": "said while reading cat's sub-channel", "stream": cats_key}
    )
    assert not Message.objects.filter(stream_id=anns_key, content__startswith="said while").exists()
    page = response.content.decode()
    assert response.status_code == 400 and f'data-stream="{cats_key}"' in page  # still reading cat's sub-channel
    assert "do not sit in it" in refusal(page) and draft(page) == "said while reading cat's sub-channel"


# Replying without JavaScript: a message's Reply link (?reply_to=<id>), the quote over the box, a
# hidden reply_to in the form


def replying(page: str) -> str:
    """The "Replying to …" line over the box, as text ("" without one)."""
    match = re.search(r'<p class="replying" id="replying"[^>]*>(.*?)</p>', page, re.S)
    return html_lib.unescape(re.sub(r"<[^>]+>", "", match.group(1))).strip() if match else ""


def reply_field(page: str) -> str | None:
    match = re.search(r'<input type="hidden" name="reply_to" value="([^"]*)">', page)
    return match.group(1) if match else None


@pytest.mark.django_db
def test_each_message_has_a_reply_link_to_the_page_replying_to_it(client, room):
    channel, mod, ann, _ = room
    question = say(mod, channel, "who has **spare** yarn?")
    mine = say(ann, channel, "not me")
    page = signed_in(client, ann).get(url("chat-conversation", channel)).content.decode()
    key = str(StreamKey(channel.pk))
    for message in (question, mine):  # one's own messages too
        link = f'href="{url("chat-conversation", channel)}?stream={key}&amp;reply_to={message.pk}">Reply</a>'
        assert link in item(page, message)
    assert replying(page) == "" and reply_field(page) is None

    page = client.get(url("chat-conversation", channel), {"stream": key, "reply_to": question.pk}).content.decode()
    assert replying(page) == "Replying to mod who has **spare** yarn? Cancel reply"
    assert reply_field(page) == str(question.pk)
    assert f'<a class="replying-cancel" href="?stream={key}">Cancel reply</a>' in page
    assert 'aria-describedby="replying composer-help" autofocus' in page
    assert refusal(page) == ""


@pytest.mark.django_db
def test_an_older_page_keeps_its_place_when_replying(client, room):
    channel, mod, ann, _ = room
    first = say(mod, channel, "the first")
    for index in range(55):
        say(mod, channel, f"message {index}")
    key = str(StreamKey(channel.pk))
    page = signed_in(client, ann).get(url("chat-conversation", channel), {"before": 10}).content.decode()
    assert f'?stream={key}&amp;before=10&amp;reply_to={first.pk}"' in item(page, first)
    page = client.get(url("chat-conversation", channel), {"before": 10, "reply_to": first.pk}).content.decode()
    assert item(page, first) and replying(page).startswith("Replying to mod the first")
    assert f'href="?stream={key}&amp;before=10">Cancel reply</a>' in page


@pytest.mark.django_db
def test_the_quote_is_one_line_of_at_most_120_characters(client, room):
    channel, mod, ann, _ = room
    long = say(mod, channel, "word " * 40 + "\n\nsecond paragraph")
    page = signed_in(client, ann).get(url("chat-conversation", channel), {"reply_to": long.pk}).content.decode()
    excerpt = replying(page).removeprefix("Replying to mod ").removesuffix(" Cancel reply")
    assert len(excerpt) == 120 and excerpt.endswith("…") and "\n" not in excerpt


@pytest.mark.django_db
def test_sending_a_reply_stores_it_and_tells_the_original_author(client, room, monkeypatch):
    channel, mod, ann, _ = room
    question = say(mod, channel, "who has spare yarn?")
    told = []
    monkeypatch.setattr(events, "notify_user", lambda user_id, frame: told.append((user_id, frame["type"])))
    response = signed_in(client, ann).post(
        url("chat-send", channel), {"content": "I do", "reply_to": str(question.pk), "stream": str(channel.pk)}
    )
    assert response.status_code == 302 and response.url.endswith("#latest")
    reply = Message.objects.get(content="I do")
    assert reply.reply_to_id == question.pk
    page = client.get(response.url).content.decode()
    assert "who has spare yarn?" in item(page, reply)  # its quote (templates/chat/_reply_quote.html)
    assert replying(page) == "" and reply_field(page) is None  # the box replies no more
    assert told == [(mod.pk, "reply")]  # the same service as the socket's send (chat/services/replies.py)


@pytest.mark.django_db
def test_an_empty_reply_field_sends_a_plain_message(client, room):
    channel, _, ann, _ = room
    response = signed_in(client, ann).post(url("chat-send", channel), {"content": "plain", "reply_to": ""})
    assert response.status_code == 302 and Message.objects.get().reply_to_id is None


def bad_reply_targets(room, square, make_channel, make_user) -> dict:
    channel, mod, ann, bob = room
    other = say(square.created_by, square, "in another channel, public")
    secret = make_channel(make_user("eve"), name="Secret", privacy=Privacy.PRIVATE)
    hidden = say(secret.created_by, secret, "in a private channel ann is not in")
    deleted = say(mod, channel, "soon deleted")
    service.redact_message(actor=mod, message_id=deleted.pk)
    removed = say(mod, channel, "soon removed entirely")
    removed_id = removed.pk
    removed.delete()
    return {
        "not a number": "abc",
        "zero": "0",
        "negative": "-4",
        "too big": "9" * 30,
        "unused id": "987654",
        "another channel's": str(other.pk),
        "unreadable": str(hidden.pk),
        "removed entirely": str(removed_id),
        "deleted": str(deleted.pk),
    }


NO_SUCH = "Cannot reply: that message does not exist."
DELETED = "Cannot reply: that message has been deleted; there is nothing to reply to."
BAD_REPLIES = [
    ("not a number", NO_SUCH),
    ("zero", NO_SUCH),
    ("negative", NO_SUCH),
    ("too big", NO_SUCH),
    ("unused id", NO_SUCH),
    ("another channel's", NO_SUCH),
    ("unreadable", NO_SUCH),
    ("removed entirely", NO_SUCH),
    ("deleted", DELETED),
]


def assert_refused_reply(client, channel, raw: str, reason: str) -> None:
    """Posted: refused with the reason, the text in the box, nothing stored; in the address: the reason."""
    before = Message.objects.count()
    response = client.post(url("chat-send", channel), {"content": "my **answer**", "reply_to": raw})
    page = response.content.decode()
    assert response.status_code == 400
    assert refusal(page) == reason and draft(page) == "my **answer**"
    assert replying(page) == "" and reply_field(page) is None
    assert Message.objects.count() == before
    response = client.get(url("chat-conversation", channel), {"reply_to": raw})
    page = response.content.decode()
    assert response.status_code == 200
    assert refusal(page) == reason and replying(page) == "" and reply_field(page) is None


@pytest.mark.django_db
@pytest.mark.parametrize(("case", "reason"), BAD_REPLIES)
def test_a_bad_reply_is_refused_with_the_reason_and_the_text_stays_in_the_box(
    client, room, square, make_channel, make_user, case, reason
):
    channel, _, ann, _ = room
    raw = bad_reply_targets(room, square, make_channel, make_user)[case]
    assert_refused_reply(signed_in(client, ann), channel, raw, reason)


@pytest.mark.django_db
def test_a_message_of_a_sub_channel_one_does_not_sit_in_cannot_be_replied_to(client, elastic_room):
    channel, _, ann, cat, _, cats_key = elastic_room
    theirs = Message.objects.get(stream_id=cats_key)
    assert_refused_reply(signed_in(client, ann), channel, str(theirs.pk), NO_SUCH)


@pytest.mark.django_db
def test_a_reply_refused_for_another_reason_keeps_its_quote(client, room, monkeypatch):
    channel, mod, ann, _ = room
    question = say(mod, channel, "who has spare yarn?")
    bucket = TokenBucket(rate=0.01, burst=0)
    monkeypatch.setattr(ratelimit, "send_rate", lambda: bucket)
    response = signed_in(client, ann).post(url("chat-send", channel), {"content": "me!", "reply_to": question.pk})
    page = response.content.decode()
    assert response.status_code == 429 and refusal(page) == "You are sending too fast; slow down a little."
    assert draft(page) == "me!" and reply_field(page) == str(question.pk)
    assert replying(page).startswith("Replying to mod who has spare yarn?")


@pytest.mark.django_db
def test_people_who_cannot_send_get_no_reply_link_and_no_quote(client, square, outsider):
    welcome = say(square.created_by, square, "welcome")
    ban_user(actor=square.created_by, channel=square, user=outsider)
    page = signed_in(client, outsider).get(url("chat-conversation", square), {"reply_to": welcome.pk})
    page = page.content.decode()
    assert "welcome" in item(page, welcome) and ">Reply</a>" not in page
    assert replying(page) == "" and refusal(page) == ""


@pytest.mark.django_db
def test_no_reply_link_on_a_deleted_message(client, room):
    channel, mod, ann, _ = room
    gone = say(mod, channel, "oops")
    service.redact_message(actor=mod, message_id=gone.pk)
    page = signed_in(client, ann).get(url("chat-conversation", channel)).content.decode()
    assert "(Deleted)" in item(page, gone) and "reply_to=" not in item(page, gone)


@pytest.mark.django_db
def test_replying_adds_a_constant_number_of_queries(client, room, django_assert_num_queries):
    channel, mod, ann, _ = room
    for index in range(5):
        say(mod, channel, f"message {index}")
    question = say(mod, channel, "who has spare yarn?")
    page_url = url("chat-conversation", channel)
    signed_in(client, ann).get(page_url)  # warm up the session

    with CaptureQueriesContext(connection) as plain:
        client.get(page_url)
    # the original with its author, nothing per message or member
    with django_assert_num_queries(len(plain) + 1):
        page = client.get(page_url, {"reply_to": question.pk}).content.decode()
    assert replying(page).startswith("Replying to mod")
    for index in range(40):
        say(mod, channel, f"more {index}")
    with django_assert_num_queries(len(plain) + 1):
        client.get(page_url, {"reply_to": question.pk})
