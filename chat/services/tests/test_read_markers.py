"""chat/services/read_markers.py: markers only move forward, unread counts in constant queries."""

import uuid

import pytest

from chat import events
from chat.models import Privacy
from chat.services import messages, read_markers
from chat.streams import StreamKey


def send(user, channel, content="hello"):
    return messages.send_message(actor=user, channel_id=channel.pk, content=content, client_msg_id=uuid.uuid4())


@pytest.mark.django_db
def test_read_markers_only_move_forward_and_count_unread(room):
    channel, mod, ann = room
    key = StreamKey(channel.pk)
    for text in ("a", "b", "c"):
        send(mod, channel, text)
    last = events.last_seq(key)
    assert read_markers.unread_counts(ann, [key]) == {str(key): 3}
    assert read_markers.mark_read(actor=ann, key=key, seq=last - 1) == (last - 1, 1)
    assert read_markers.mark_read(actor=ann, key=key, seq=1) == (last - 1, 1)
    assert read_markers.mark_read(actor=ann, key=key, seq=last + 100) == (last, 0)
    send(ann, channel, "my own messages are never unread")
    assert read_markers.unread_counts(ann, [key]) == {str(key): 0}


@pytest.mark.django_db
def test_unread_counts_take_constant_queries(make_channel, make_user, django_assert_max_num_queries):
    reader = make_user("reader")
    keys = []
    for index in range(6):
        owner = make_user(f"owner{index}")
        channel = make_channel(owner, name=f"c{index}", privacy=Privacy.PUBLIC)
        send(reader, channel, "join")
        send(owner, channel, "one")
        send(owner, channel, "two")
        keys.append(StreamKey(channel.pk))
    read_markers.mark_read(actor=reader, key=keys[0], seq=events.last_seq(keys[0]))
    with django_assert_max_num_queries(3):
        counts = read_markers.unread_counts(reader, keys)
    assert counts == {str(keys[0]): 0, **{str(key): 2 for key in keys[1:]}}
