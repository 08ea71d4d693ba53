"""chat/services/sidebar.py: my channels and conversations with their unread counts and mentions."""

from __future__ import annotations

import uuid

import pytest

from chat.models import Privacy
from chat.services.channels import open_direct_channel
from chat.services.memberships import add_members
from chat.services.messages import redact_message, send_message
from chat.services.presence import AWAY, Presence, presence_store
from chat.services.read_markers import mark_read
from chat.services.sidebar import sidebar_for
from chat.streams import StreamKey


def say(user, channel, text, reply_to=None):
    return send_message(
        actor=user, channel_id=channel.pk, content=text, client_msg_id=uuid.uuid4(), reply_to=reply_to
    ).message


@pytest.fixture(autouse=True)
def fresh_presence():
    presence_store.cache_clear()
    yield
    presence_store.cache_clear()


@pytest.mark.django_db
def test_counts_unread_and_mentions_per_stream_past_my_marker(make_user, make_channel):
    ann, bob = make_user("ann"), make_user("bob")
    chess = make_channel(ann, name="Chess", privacy=Privacy.PRIVATE)
    go = make_channel(ann, name="go", privacy=Privacy.PRIVATE)
    add_members(actor=ann, channel=chess, users=[bob])
    add_members(actor=ann, channel=go, users=[bob])
    first = say(ann, chess, "hello")
    mark_read(actor=bob, key=StreamKey(chess.pk), seq=first.seq)
    say(ann, go, "never opened")
    say(bob, chess, "mine do not count (and sending reads what came before)")
    say(ann, chess, "are you there @bob?")
    say(ann, chess, "@ann talks to herself")
    redact_message(actor=ann, message_id=say(ann, chess, "oops @bob").pk)  # deleted: not counted

    sidebar = sidebar_for(bob)
    assert [item.name for item in sidebar.channels] == ["Chess", "go"]  # by name, whatever the case
    chess_item, go_item = sidebar.channels
    assert chess_item.unread == {str(chess.pk): 2} and chess_item.mentions == {str(chess.pk): 1}
    assert go_item.unread_total == 1 and go_item.mentions_total == 0
    assert sidebar.unread_total == 3
    assert sidebar.state[str(chess.pk)] == {
        "unread": {str(chess.pk): 2},
        "mentions": {str(chess.pk): 1},
        "direct": False,
    }


@pytest.mark.django_db
def test_direct_messages_all_count_as_mentions_and_show_the_other_person(make_user):
    ann, bob = make_user("ann"), make_user("bob")
    channel = open_direct_channel(actor=ann, other=bob)
    say(ann, channel, "psst")
    presence_store().connect(ann.pk, "tab")
    presence_store().set_status(ann.pk, Presence(AWAY, "out"))
    presence_store().set_status(bob.pk, Presence(AWAY, "at the club"))
    sidebar = sidebar_for(bob)
    [item] = sidebar.direct
    assert (item.name, item.other, item.is_direct) == ("ann", ann, True)
    assert item.unread_total == item.mentions_total == 1
    assert item.presence.status == AWAY
    assert sidebar.channels == []
    assert sidebar.status == Presence(AWAY, "at the club")  # my own choice, for my form


@pytest.mark.django_db
def test_a_moderator_in_several_sub_channels_has_a_count_for_each(make_user, make_elastic):
    owner = make_user("owner")
    channel = make_elastic(owner, maximum=3, target=2, privacy=Privacy.PRIVATE)
    add_members(actor=owner, channel=channel, users=[make_user(name) for name in ("a", "b", "c")])
    item = sidebar_for(owner).channels[0]
    assert len(item.unread) >= 1 and all(key.startswith(f"{channel.pk}:") for key in item.unread)


@pytest.mark.django_db
@pytest.mark.parametrize("size", [2, 12])
def test_queries_do_not_grow_with_channels_conversations_or_messages(
    make_user, make_channel, size, django_assert_max_num_queries
):
    me = make_user("me")
    for index in range(size):
        channel = make_channel(me, name=f"channel {index}", privacy=Privacy.PRIVATE)
        friend = make_user(f"friend{index}")
        add_members(actor=me, channel=channel, users=[friend])
        direct = open_direct_channel(actor=friend, other=me)
        for number in range(size):
            say(friend, channel, f"message {number} for @me")
            say(friend, direct, f"direct {number}")
    # memberships, seats, read markers, the two grouped counts, the other people of direct messages
    with django_assert_max_num_queries(6):
        sidebar = sidebar_for(me)
    assert len(sidebar.channels) == len(sidebar.direct) == size
    assert sidebar.unread_total == 2 * size * size


@pytest.mark.django_db
def test_a_reply_to_my_message_counts_as_a_mention(make_user, make_channel):
    ann, bob, cat = make_user("ann"), make_user("bob"), make_user("cat")
    chess = make_channel(ann, name="Chess", privacy=Privacy.PRIVATE)
    add_members(actor=ann, channel=chess, users=[bob, cat])
    mine = say(bob, chess, "who plays tonight?")
    theirs = say(cat, chess, "not me")
    say(bob, chess, "anyone?", reply_to=mine.pk)  # my own: never counted (and it reads what came before)
    say(ann, chess, "I do", reply_to=mine.pk)  # a reply to me: a mention
    say(ann, chess, "me neither", reply_to=theirs.pk)  # a reply to cat: hers, not mine
    say(ann, chess, "@bob and I do", reply_to=mine.pk)  # a mention and a reply: counted once
    say(ann, chess, "great")

    item = sidebar_for(bob).channels[0]
    assert item.unread == {str(chess.pk): 4} and item.mentions == {str(chess.pk): 2}
    item = sidebar_for(cat).channels[0]
    assert item.unread == {str(chess.pk): 5} and item.mentions == {str(chess.pk): 1}


@pytest.mark.django_db
def test_a_reply_to_a_message_i_deleted_is_no_mention(make_user, make_channel):
    ann, bob = make_user("ann"), make_user("bob")
    chess = make_channel(ann, name="Chess", privacy=Privacy.PRIVATE)
    add_members(actor=ann, channel=chess, users=[bob])
    mine = say(bob, chess, "who plays tonight?")
    say(ann, chess, "I do", reply_to=mine.pk)
    assert sidebar_for(bob).channels[0].mentions_total == 1
    redact_message(actor=bob, message_id=mine.pk)  # the reply's quote says "(original deleted)"
    item = sidebar_for(bob).channels[0]
    assert item.unread_total == 1 and item.mentions_total == 0


@pytest.mark.django_db
@pytest.mark.parametrize("size", [2, 12])
def test_replies_to_me_cost_no_query_more(make_user, make_channel, size, django_assert_num_queries):
    me = make_user("me")
    for index in range(size):
        channel = make_channel(me, name=f"channel {index}", privacy=Privacy.PRIVATE)
        friend = make_user(f"friend{index}")
        add_members(actor=me, channel=channel, users=[friend])
        mine = say(me, channel, f"question {index}")
        for number in range(size):
            say(friend, channel, f"answer {number}", reply_to=mine.pk)
    # memberships, seats, read markers, the grouped count past the markers (sending set them); no
    # direct conversations, so neither the never-read count nor the other people's query runs
    with django_assert_num_queries(4):
        sidebar = sidebar_for(me)
    assert [item.mentions_total for item in sidebar.channels] == [size] * size
