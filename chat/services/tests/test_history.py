"""chat/services/history.py: pages of a stream, where a reader's unread start, one readable message."""

from __future__ import annotations

import uuid

import pytest

from chat.exceptions import InvalidRequest
from chat.models import Attachment, Message, Privacy
from chat.services import history
from chat.services.memberships import add_members
from chat.services.messages import send_message
from chat.services.read_markers import mark_read
from chat.streams import StreamKey


def say(user, channel, text):
    return send_message(actor=user, channel_id=channel.pk, content=text, client_msg_id=uuid.uuid4()).message


@pytest.fixture
def chess(make_user, make_channel):
    ann, bob = make_user("ann"), make_user("bob")
    channel = make_channel(ann, name="Chess", privacy=Privacy.PRIVATE)
    add_members(actor=ann, channel=channel, users=[bob])
    return channel, ann, bob


@pytest.mark.django_db
def test_a_reader_with_nothing_unread_opens_on_the_newest_page(chess):
    channel, ann, bob = chess
    sent = [say(ann, channel, f"move {index}") for index in range(60)]
    mark_read(actor=bob, key=StreamKey(channel.pk), seq=sent[-1].seq)
    page = history.opening(bob, str(channel.pk))
    assert [message.seq for message in page.messages] == [message.seq for message in sent[-50:]]
    assert page.has_older and page.first_unread_seq is None


@pytest.mark.django_db
@pytest.mark.parametrize(("read", "shown"), [(59, 50), (20, 54), (0, 70)])
def test_a_reader_opens_reaching_back_to_their_first_unread(chess, read, shown):
    channel, ann, bob = chess
    sent = [say(ann, channel, f"move {index}") for index in range(70)]
    mark_read(actor=bob, key=StreamKey(channel.pk), seq=sent[read].seq)
    page = history.opening(bob, str(channel.pk))
    assert page.first_unread_seq == sent[read + 1].seq
    assert page.first_unread_seq in [message.seq for message in page.messages]
    assert len(page.messages) == shown


@pytest.mark.django_db
def test_my_own_messages_are_never_where_unread_starts(chess):
    channel, ann, bob = chess
    say(ann, channel, "your move")
    say(bob, channel, "e4")  # sending reads what came before
    say(bob, channel, "and e5?")
    assert history.opening(bob, str(channel.pk)).first_unread_seq is None
    reply = say(ann, channel, "e5")
    assert history.opening(bob, str(channel.pk)).first_unread_seq == reply.seq


@pytest.mark.django_db
def test_someone_who_never_opened_the_channel_opens_at_the_newest(chess, outsider):
    channel, ann, _ = chess
    say(ann, channel, "hello")
    page = history.opening(ann, str(channel.pk))
    assert page.first_unread_seq is None and len(page.messages) == 1


@pytest.mark.django_db
def test_files_come_back_in_the_order_they_were_sent(chess):
    channel, ann, _ = chess
    message = say(ann, channel, "two files")
    second = Attachment.objects.create(channel=channel, uploader=ann, message=message, name="b.txt", size=1,
                                       content_type="text/plain", state="attached", key="k/b")  # fmt: skip
    first = Attachment.objects.create(channel=channel, uploader=ann, message=message, name="a.txt", size=1,
                                      content_type="text/plain", state="attached", key="k/a")  # fmt: skip
    Message.objects.filter(pk=message.pk).update(metadata={"attachments": [{"id": first.pk}, {"id": second.pk}]})
    [shown] = history.older(str(channel.pk)).messages
    assert [attachment.name for attachment in shown.shown_attachments] == ["a.txt", "b.txt"]


@pytest.mark.django_db
def test_a_message_is_readable_only_by_those_who_read_its_stream(chess, outsider):
    channel, ann, bob = chess
    message = say(ann, channel, "members only")
    found, access = history.readable_message(actor=bob, message_id=message.pk)
    assert found == message and access.is_member
    for actor, message_id in ((outsider, message.pk), (bob, 999999)):
        with pytest.raises(InvalidRequest, match="That message does not exist."):
            history.readable_message(actor=actor, message_id=message_id)
