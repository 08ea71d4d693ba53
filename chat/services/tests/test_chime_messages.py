"""chat/backends/chime/messages.py through the message services: SendChannelMessage and friends,
exactly as sent, and every refusal leaving nothing behind."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime

import pytest

from chat.backends.base import BackendUnavailable
from chat.backends.chime.messages import EMPTY_CONTENT, chime_metadata
from chat.exceptions import InvalidRequest, NotAllowed
from chat.models import (
    Attachment,
    AttachmentState,
    ChimeParkedEvent,
    Membership,
    Message,
    MessageRevision,
    Privacy,
    StreamEvent,
)
from chat.services import channels
from chat.services import messages as service
from tests.rig.chime import ADMIN_ARN, arn_of, channel_arn

ARN = channel_arn(7)


@pytest.fixture
def room(chime, make_user):
    """A private channel in Chime: `mod` moderates it, `ann` is a member, `boss` administers."""
    mod, ann = chime.user(make_user, "mod"), chime.user(make_user, "ann")
    boss = chime.user(make_user, "boss", is_staff=True, is_superuser=True)
    chime.expect("create_channel", {"ChannelArn": ARN})
    channel = channels.create_channel(actor=mod, name="Knitting", privacy=Privacy.PRIVATE)
    Membership.objects.create(channel=channel, user=ann)
    return channel, mod, ann, boss


def send(chime, user, channel, content="hello", message_id="m-1", client_msg_id=None, **params):
    client_msg_id = client_msg_id or uuid.uuid4()
    chime.expect(
        "send_channel_message",
        {"ChannelArn": ARN, "MessageId": message_id, "Status": {"Value": "SENT"}},
        ChannelArn=ARN,
        Content=content,
        Type="STANDARD",
        Persistence="PERSISTENT",
        Metadata=json.dumps({"client_msg_id": str(client_msg_id)}, separators=(",", ":")),
        ClientRequestToken=str(client_msg_id),
        ChimeBearer=arn_of(user),
        **params,
    )
    return service.send_message(actor=user, channel_id=channel.pk, content=content, client_msg_id=client_msg_id)


def test_a_send_goes_to_chime_first_and_is_stored_with_its_message_id(room, chime):
    channel, _, ann, _ = room
    result = send(chime, ann, channel, "hi **all**")
    stored = Message.objects.get()
    assert (stored.chime_message_id, stored.html, result.created) == ("m-1", "<p>hi <strong>all</strong></p>", True)
    assert StreamEvent.objects.filter(message=stored, type="message.created", seq=stored.seq).exists()


def test_a_retried_send_makes_no_second_chime_message_nor_row(room, chime):
    channel, _, ann, _ = room
    client_msg_id = uuid.uuid4()
    first = send(chime, ann, channel, client_msg_id=client_msg_id)
    # Nothing more is queued on the stub: a second SendChannelMessage would fail this test.
    again = service.send_message(actor=ann, channel_id=channel.pk, content="hello", client_msg_id=client_msg_id)
    assert (again.created, again.message.pk) == (False, first.message.pk)
    assert Message.objects.count() == 1


def test_a_send_whose_local_commit_failed_is_retried_with_the_same_token(room, chime, monkeypatch):
    channel, _, ann, _ = room
    client_msg_id = uuid.uuid4()
    monkeypatch.setattr(service, "render_message", lambda *a, **k: (_ for _ in ()).throw(RuntimeError("db")))
    with pytest.raises(RuntimeError):
        send(chime, ann, channel, client_msg_id=client_msg_id)
    assert not Message.objects.exists()
    monkeypatch.undo()
    # The same ClientRequestToken: Chime answers with the message it already has.
    result = send(chime, ann, channel, client_msg_id=client_msg_id)
    assert result.message.chime_message_id == "m-1"


def test_elastic_sends_name_the_chime_subchannel(chime, make_user):
    owner = chime.user(make_user, "owner")
    channel = chime.elastic_channel(owner, channel_arn=ARN)
    send(chime, owner, channel, "from the stage", SubChannelId="sub-a")
    assert Message.objects.get().subchannel.chime_id == "sub-a"


def test_attachments_travel_as_ids_in_chimes_metadata(room, chime):
    channel, _, ann, _ = room
    files = [
        Attachment.objects.create(
            uploader=ann,
            channel=channel,
            key=f"attachments/{channel.pk}/{index}/a.png",
            name="a.png",
            size=10,
            content_type="image/png",
            state=AttachmentState.UPLOADED,
        )
        for index in range(2)
    ]
    client_msg_id = uuid.uuid4()
    ids = [item.pk for item in files]
    chime.expect(
        "send_channel_message",
        {"ChannelArn": ARN, "MessageId": "m-9"},
        ChannelArn=ARN,
        Content=EMPTY_CONTENT,
        Type="STANDARD",
        Persistence="PERSISTENT",
        Metadata=chime_metadata(client_msg_id, ids),
        ClientRequestToken=str(client_msg_id),
        ChimeBearer=arn_of(ann),
    )
    result = service.send_message(
        actor=ann, channel_id=channel.pk, content="", client_msg_id=client_msg_id, attachment_ids=ids
    )
    assert [item["id"] for item in result.message.metadata["attachments"]] == ids
    assert json.loads(chime_metadata(client_msg_id, ids)) == {"client_msg_id": str(client_msg_id), "attachments": ids}


@pytest.mark.parametrize(
    ("content", "metadata", "error"),
    [("é" * 2049, None, service.ContentTooLong), ("ok", {"x": "y" * 1020}, service.MetadataTooLong)],
)
def test_our_limits_are_checked_before_any_call(room, chime, content, metadata, error):
    channel, _, ann, _ = room
    with pytest.raises(error):
        service.send_message(
            actor=ann, channel_id=channel.pk, content=content, metadata=metadata, client_msg_id=uuid.uuid4()
        )
    assert not Message.objects.exists()


@pytest.mark.parametrize(
    ("code", "status", "error"),
    [
        ("ForbiddenException", 403, NotAllowed),
        ("BadRequestException", 400, InvalidRequest),
        ("ConflictException", 409, InvalidRequest),
        ("ThrottledClientException", 429, BackendUnavailable),
        ("ServiceUnavailableException", 503, BackendUnavailable),
    ],
)
def test_a_refused_send_stores_nothing(room, chime, code, status, error):
    channel, _, ann, _ = room
    chime.refuse("send_channel_message", code, status)
    with pytest.raises(error):
        service.send_message(actor=ann, channel_id=channel.pk, content="hi", client_msg_id=uuid.uuid4())
    assert not Message.objects.exists()
    assert not StreamEvent.objects.filter(type="message.created").exists()


@pytest.mark.parametrize("status", ["DENIED", "FAILED"])
def test_a_message_chime_denies_is_not_stored(room, chime, status):
    channel, _, ann, _ = room
    chime.expect("send_channel_message", {"MessageId": "m-1", "Status": {"Value": status}})
    with pytest.raises(NotAllowed):
        service.send_message(actor=ann, channel_id=channel.pk, content="hi", client_msg_id=uuid.uuid4())
    assert not Message.objects.exists()


def test_edits_redactions_and_deletions_go_to_chime_with_the_right_bearer(room, chime):
    channel, mod, ann, boss = room
    client_msg_id = uuid.uuid4()
    message = send(chime, ann, channel, "first", client_msg_id=client_msg_id).message
    chime.expect(
        "update_channel_message",
        {"ChannelArn": ARN, "MessageId": "m-1"},
        ChannelArn=ARN,
        MessageId="m-1",
        Content="second",
        Metadata=chime_metadata(client_msg_id, []),
        ChimeBearer=arn_of(ann),
    )
    service.edit_message(actor=ann, message_id=message.pk, content="second")
    chime.expect("redact_channel_message", {}, ChannelArn=ARN, MessageId="m-1", ChimeBearer=arn_of(mod))
    service.redact_message(actor=mod, message_id=message.pk)
    chime.expect("delete_channel_message", {}, ChannelArn=ARN, MessageId="m-1", ChimeBearer=ADMIN_ARN)
    service.delete_message(actor=boss, message_id=message.pk)
    assert not Message.objects.exists()
    # A tombstone: the stream's late copy of the message must not bring it back.
    assert ChimeParkedEvent.objects.filter(message_id="m-1", event_type="DELETE_CHANNEL_MESSAGE").exists()


def test_an_administrator_without_a_role_redacts_as_the_app(room, chime):
    channel, _, ann, boss = room
    message = send(chime, ann, channel).message
    chime.expect("redact_channel_message", {}, ChannelArn=ARN, MessageId="m-1", ChimeBearer=ADMIN_ARN)
    service.redact_message(actor=boss, message_id=message.pk)


@pytest.mark.parametrize(
    ("change", "operation"), [("edit", "update_channel_message"), ("redact", "redact_channel_message")]
)
@pytest.mark.parametrize(
    ("code", "status", "error"),
    [("ForbiddenException", 403, NotAllowed), ("ThrottledClientException", 429, BackendUnavailable)],
)
def test_a_refused_change_leaves_the_message_as_it_was(room, chime, change, operation, code, status, error):
    channel, _, ann, _ = room
    message = send(chime, ann, channel, "first").message
    chime.refuse(operation, code, status)
    changes = {
        "edit": lambda: service.edit_message(actor=ann, message_id=message.pk, content="second"),
        "redact": lambda: service.redact_message(actor=ann, message_id=message.pk),
    }
    with pytest.raises(error):
        changes[change]()
    message.refresh_from_db()
    assert (message.content, message.redacted_at, MessageRevision.objects.count()) == ("first", None, 0)


def test_a_message_chime_no_longer_holds_is_changed_here(room, chime):
    channel, _, ann, _ = room
    message = send(chime, ann, channel, "first").message
    chime.refuse("update_channel_message", "NotFoundException", 404)
    service.edit_message(actor=ann, message_id=message.pk, content="second")
    message.refresh_from_db()
    assert message.content == "second"


def test_history_from_before_the_move_to_chime_is_changed_here_only(room, chime):
    channel, _, ann, _ = room
    old = Message.objects.create(channel=channel, author=ann, content="old", stream_id=str(channel.pk), seq=99)
    service.edit_message(actor=ann, message_id=old.pk, content="older")
    service.redact_message(actor=ann, message_id=old.pk)
    assert Message.objects.get().redacted_at is not None


def test_listing_reads_every_page_oldest_first(room, chime):
    channel, _, ann, _ = room
    sent = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    page = {"MessageId": "m-1", "Content": "a", "CreatedTimestamp": sent, "Sender": {"Arn": arn_of(ann), "Name": "ann"}}
    base = {"ChannelArn": ARN, "SortOrder": "ASCENDING", "MaxResults": 50, "ChimeBearer": ADMIN_ARN}
    chime.expect("list_channel_messages", {"ChannelMessages": [page], "NextToken": "t2"}, **base)
    chime.expect(
        "list_channel_messages",
        {"ChannelMessages": [{**page, "MessageId": "m-2", "Redacted": True}]},
        **base,
        NextToken="t2",
    )
    listed = list(chime.backend.channel_messages(ARN))
    assert [(item.message_id, item.sender_arn, item.redacted, item.created_at) for item in listed] == [
        ("m-1", arn_of(ann), False, sent),
        ("m-2", arn_of(ann), True, sent),
    ]
    chime.refuse("get_channel_message", "NotFoundException", 404)
    assert chime.backend.channel_message(ARN, "m-3") is None


def send_reply(chime, user, channel, original, reply_to_chime_id, message_id="m-2"):
    client_msg_id = uuid.uuid4()
    chime.expect(
        "send_channel_message",
        {"ChannelArn": ARN, "MessageId": message_id, "Status": {"Value": "SENT"}},
        ChannelArn=ARN,
        Content="me!",
        Type="STANDARD",
        Persistence="PERSISTENT",
        Metadata=chime_metadata(client_msg_id, [], reply_to_chime_id),
        ClientRequestToken=str(client_msg_id),
        ChimeBearer=arn_of(user),
    )
    return service.send_message(
        actor=user, channel_id=channel.pk, content="me!", client_msg_id=client_msg_id, reply_to=original.pk
    )


def test_a_reply_names_its_originals_message_id_in_chimes_metadata(room, chime):
    channel, mod, ann, _ = room
    original = send(chime, mod, channel, "who brings the wool?").message
    reply = send_reply(chime, ann, channel, original, "m-1").message
    assert (reply.reply_to_id, reply.chime_message_id) == (original.pk, "m-2")
    metadata = json.loads(chime_metadata(reply.client_msg_id, [], "m-1"))
    assert metadata == {"client_msg_id": str(reply.client_msg_id), "reply_to": "m-1"}
    # An edit replaces Chime's Metadata: the reply stays one.
    chime.expect(
        "update_channel_message",
        {"ChannelArn": ARN, "MessageId": "m-2"},
        ChannelArn=ARN,
        MessageId="m-2",
        Content="me, me!",
        Metadata=chime_metadata(reply.client_msg_id, [], "m-1"),
        ChimeBearer=arn_of(ann),
    )
    service.edit_message(actor=ann, message_id=reply.pk, content="me, me!")


def test_a_reply_to_history_from_before_the_move_to_chime_sends_no_reply_to(room, chime):
    channel, mod, ann, _ = room
    old = Message.objects.create(channel=channel, author=mod, content="old", stream_id=str(channel.pk), seq=99)
    reply = send_reply(chime, ann, channel, old, None).message
    assert reply.reply_to_id == old.pk


def test_a_refused_reply_stores_nothing(room, chime):
    channel, mod, ann, _ = room
    original = send(chime, mod, channel, "who brings the wool?").message
    chime.refuse("send_channel_message", "ThrottledClientException", 429)
    with pytest.raises(BackendUnavailable):
        service.send_message(
            actor=ann, channel_id=channel.pk, content="me!", client_msg_id=uuid.uuid4(), reply_to=original.pk
        )
    assert list(Message.objects.values_list("pk", flat=True)) == [original.pk]
