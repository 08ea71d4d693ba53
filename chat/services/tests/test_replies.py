import uuid

import pytest

from chat.exceptions import InvalidRequest
from chat.models import StreamEvent
from chat.services import messages as message_service
from chat.services.payloads import message_payload


def send(user, channel, content="hello", **kwargs):
    return message_service.send_message(
        actor=user, channel_id=channel.pk, content=content, client_msg_id=uuid.uuid4(), **kwargs
    ).message


def stored_reply_ref(reply):
    return StreamEvent.objects.get(message=reply, type="message.created").body["message"]["reply_to"]


@pytest.fixture
def notices(monkeypatch):
    sent = []
    monkeypatch.setattr("chat.events.send_group", lambda group, handler, frame: sent.append((group, handler, frame)))
    return sent


@pytest.mark.django_db
def test_a_reply_carries_a_one_line_quote_of_the_original(room):
    channel, mod, ann = room
    original = send(mod, channel, "who brings\nthe **wool**?")
    reply = send(ann, channel, "me", reply_to=original.pk)
    expected = {"id": original.pk, "author": {"id": mod.pk, "username": "mod"}, "excerpt": "who brings the **wool**?"}
    assert message_payload(reply)["reply_to"] == {**expected, "deleted": False}
    assert stored_reply_ref(reply) == {**expected, "deleted": False}
    assert message_payload(original)["reply_to"] is None


@pytest.mark.django_db(transaction=True)
def test_the_originals_author_is_notified_but_not_for_their_own_reply(room, notices):
    channel, mod, ann = room
    original = send(mod, channel, "question")
    reply = send(ann, channel, "answer", reply_to=original.pk)
    send(mod, channel, "and me", reply_to=original.pk)
    replies = [frame for group, handler, frame in notices if handler == "user.event" and frame["type"] == "reply"]
    assert len(replies) == 1
    assert replies[0]["message"] == {"id": reply.pk, "reply_to": original.pk}
    assert replies[0]["url"] == f"/channels/{channel.pk}/messages/{reply.pk}/"
    assert [group for group, handler, frame in notices if frame["type"] == "reply"] == [f"user.{mod.pk}"]


@pytest.mark.django_db
@pytest.mark.parametrize("change", ["redact", "delete"])
def test_a_redacted_or_deleted_original_is_shown_as_deleted_live_and_in_replay(room, admin_user, change):
    channel, mod, ann = room
    original = send(mod, channel, "secret plan")
    reply = send(ann, channel, "nice", reply_to=original.pk)
    if change == "redact":
        message_service.redact_message(actor=mod, message_id=original.pk)
    else:
        message_service.delete_message(actor=admin_user, message_id=original.pk)
    gone = {"id": original.pk, "author": None, "excerpt": "", "deleted": True}
    reply.refresh_from_db()
    assert message_payload(reply)["reply_to"] == gone
    assert stored_reply_ref(reply) == gone
    assert "secret" not in str(list(StreamEvent.objects.values_list("body", flat=True)))


@pytest.mark.django_db
def test_replying_to_what_one_cannot_read_is_not_found(room, make_channel, make_user):
    channel, mod, ann = room
    secret = make_channel(mod, name="Secret", privacy="private")
    hidden = send(mod, secret, "hidden")
    with pytest.raises(InvalidRequest, match="does not exist"):
        send(ann, channel, "hm", reply_to=hidden.pk)
    with pytest.raises(InvalidRequest, match="does not exist"):
        send(ann, channel, "hm", reply_to=hidden.pk + 1000)
    redacted = send(mod, channel, "oops")
    message_service.redact_message(actor=mod, message_id=redacted.pk)
    with pytest.raises(InvalidRequest, match="deleted"):
        send(ann, channel, "hm", reply_to=redacted.pk)
