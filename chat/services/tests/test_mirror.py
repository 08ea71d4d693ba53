"""chat/services/mirror.py: Chime's message events applied to our database, idempotently, with
their stream events published after commit (records as Chime's streaming export writes them)."""

from __future__ import annotations

import uuid

import pytest

from chat.backends.chime.records import RecordError, ShardPosition
from chat.models import (
    Attachment,
    AttachmentState,
    ChimeParkedEvent,
    ChimeShardCheckpoint,
    Message,
    StreamEvent,
    SubChannel,
)
from chat.services import mirror
from tests.rig.chime import CHANNEL_ARN
from tests.rig.kinesis import message_record

pytestmark = pytest.mark.django_db


def created(message_id="m-1", content="hello", sender="ann", **fields):
    return message_record("CREATE_CHANNEL_MESSAGE", CHANNEL_ARN, message_id, content=content, sender=sender, **fields)


def updated(message_id="m-1", content="edited", at=60, sender="ann"):
    return message_record("UPDATE_CHANNEL_MESSAGE", CHANNEL_ARN, message_id, content=content, sender=sender, edited=at)


def redacted(message_id="m-1", at=120):
    return message_record("REDACT_CHANNEL_MESSAGE", CHANNEL_ARN, message_id, redacted=True, edited=at)


def deleted(message_id="m-1", at=180):
    return message_record("DELETE_CHANNEL_MESSAGE", CHANNEL_ARN, message_id, edited=at)


def events_of(room) -> list[tuple[int, str]]:
    return list(StreamEvent.objects.filter(stream_id=str(room.channel.pk)).order_by("seq").values_list("seq", "type"))


@pytest.mark.parametrize("as_string", [False, True])
def test_a_message_from_another_chime_client_appears_with_its_author(chime_room, as_string):
    assert chime_room.apply(created(content="hi **all**"), as_string=as_string) == "applied"
    message = Message.objects.get()
    assert (message.author, message.html, message.chime_message_id) == (
        chime_room.ann,
        "<p>hi <strong>all</strong></p>",
        "m-1",
    )
    assert message.created_at.isoformat().startswith("2026-05-01T12:00:00")
    assert events_of(chime_room) == [(1, "message.created")]
    assert chime_room.published[0]["message"]["author"]["username"] == "ann"
    assert chime_room.published[0]["seq"] == 1


def test_a_duplicate_or_our_own_message_is_a_no_op(chime_room):
    chime_room.apply(created())
    assert chime_room.apply(created()) == "duplicate"
    assert (Message.objects.count(), len(chime_room.published)) == (1, 1)


def test_our_send_whose_local_commit_failed_is_brought_in_and_a_retry_finds_it(chime_room):
    from chat.services.messages import send_message

    client_msg_id = uuid.uuid4()
    upload = Attachment.objects.create(
        uploader=chime_room.ann,
        channel=chime_room.channel,
        key="attachments/1/a/a.pdf",
        name="a.pdf",
        size=3,
        content_type="application/pdf",
        state=AttachmentState.UPLOADED,
    )
    metadata = {"client_msg_id": str(client_msg_id), "attachments": [upload.pk]}
    chime_room.apply(created(content=" ", metadata=metadata))
    message = Message.objects.get()
    assert (message.client_msg_id, message.content) == (client_msg_id, "")
    assert [item["id"] for item in message.metadata["attachments"]] == [upload.pk]
    upload.refresh_from_db()
    assert (upload.state, upload.message) == (AttachmentState.ATTACHED, message)
    # The browser's retry: the stored message is the answer, and Chime is not asked again.
    again = send_message(
        actor=chime_room.ann,
        channel_id=chime_room.channel.pk,
        content="",
        client_msg_id=client_msg_id,
        attachment_ids=[upload.pk],
    )
    assert (again.created, again.message.pk) == (False, message.pk)


def test_edits_redactions_and_deletions_are_mirrored_once(chime_room):
    chime_room.apply(created())
    assert chime_room.apply(updated(content="edited")) == "applied"
    assert chime_room.apply(updated(content="edited")) == "duplicate"
    assert chime_room.apply(updated(content="older", at=30)) == "duplicate"  # older than the applied one
    assert Message.objects.get().content == "edited"
    assert chime_room.apply(redacted()) == "applied"
    assert chime_room.apply(updated(content="too late", at=90)) == "duplicate"
    message = Message.objects.get()
    assert (message.content, message.redacted_at is not None, message.revisions.count()) == ("", True, 0)
    assert chime_room.apply(deleted()) == "applied"
    assert chime_room.apply(deleted()) == "duplicate"
    assert not Message.objects.exists()
    assert [kind for _, kind in events_of(chime_room)] == [
        "message.created",
        "message.edited",
        "message.redacted",
        "message.deleted",
    ]
    # Replay carries no text of the redacted and deleted message.
    assert all(
        event.body["message"] == {"id": event.body["message"]["id"], "deleted": True}
        for event in StreamEvent.objects.filter(type__startswith="message.").exclude(type="message.deleted")
    )


def test_an_edit_before_its_message_is_kept_until_the_message_arrives(chime_room):
    assert chime_room.apply(updated(content="second", at=60)) == "parked"
    assert chime_room.apply(updated(content="second", at=60)) == "duplicate"
    assert chime_room.apply(created(content="first")) == "applied"
    message = Message.objects.get()
    assert (message.content, message.edited_at is not None) == ("second", True)
    assert [kind for _, kind in events_of(chime_room)] == ["message.created", "message.edited"]
    assert not ChimeParkedEvent.objects.exists()


def test_a_redaction_before_its_message_applies_when_it_arrives(chime_room):
    chime_room.apply(redacted())
    chime_room.apply(created(content="secret"))
    assert Message.objects.get().redacted_at is not None
    assert "secret" not in str(list(StreamEvent.objects.values_list("body", flat=True)))


def test_a_deletion_before_its_message_keeps_it_from_ever_appearing(chime_room):
    assert chime_room.apply(deleted()) == "parked"
    assert chime_room.apply(created()) == "duplicate"
    assert chime_room.apply(updated()) == "duplicate"
    assert not Message.objects.exists()
    assert chime_room.published == []


def test_our_own_edits_coming_back_change_nothing(chime_room, monkeypatch):
    from chat.backends.chime import ChimeBackend
    from chat.services.messages import edit_message

    monkeypatch.setattr(ChimeBackend, "edit_message", lambda self, message, content, actor: None)
    chime_room.apply(created(content="one"))
    message = Message.objects.get()
    edit_message(actor=chime_room.ann, message_id=message.pk, content="two")
    edit_message(actor=chime_room.ann, message_id=message.pk, content="three")
    before = events_of(chime_room)
    # Chime's records of those two edits, older than our last edit here, arrive late.
    assert chime_room.apply(updated(content="two", at=1)) == "duplicate"
    assert chime_room.apply(updated(content="three", at=2)) == "duplicate"
    assert (Message.objects.get().content, events_of(chime_room)) == ("three", before)


@pytest.mark.parametrize(
    ("record", "outcome"),
    [
        ({**created(), "EventType": "SESSION_ESTABLISHED"}, "ignored"),
        (created(message_id="m-9") | {"Payload": {**created()["Payload"], "Type": "CONTROL"}}, "ignored"),
        (created() | {"Payload": {**created()["Payload"], "ChannelArn": CHANNEL_ARN + "-unknown"}}, "ignored"),
    ],
)
def test_what_is_not_ours_to_mirror_is_ignored(chime_room, record, outcome):
    assert chime_room.apply(record) == outcome
    assert not Message.objects.exists()


def test_a_sender_the_app_never_met_writes_without_an_author(chime_room):
    chime_room.apply(created(sender="bot-weather"))
    assert Message.objects.get().author is None


def test_elastic_messages_land_in_their_subchannels_stream(chime_room):
    channel = chime_room.channel
    channel.channel_type, channel.privacy = "elastic", "public"
    channel.maximum_subchannels, channel.target_memberships_per_subchannel, channel.minimum_membership_percentage = (
        3,
        4,
        25,
    )
    channel.save()
    SubChannel.objects.create(channel=channel, number=1, chime_id="sub-a")
    chime_room.apply(created(subchannel="sub-b"))
    message = Message.objects.get()
    assert message.subchannel.chime_id == "sub-b"
    assert message.stream_id == f"{channel.pk}:{message.subchannel_id}"


def test_the_checkpoint_is_saved_with_the_change_or_not_at_all(chime_room, monkeypatch):
    position = ShardPosition("arn:stream", "shardId-1", "42")
    mirror.apply_record(
        b'{"EventType": "CREATE_CHANNEL_MESSAGE", "Payload": ' + _json(created()["Payload"]) + b"}", position
    )
    assert mirror.checkpoints("arn:stream") == {"shardId-1": ("42", False)}
    monkeypatch.setattr(mirror, "_store", lambda *args: (_ for _ in ()).throw(RuntimeError("db")))
    with pytest.raises(RuntimeError):
        mirror.apply_record(_json(created(message_id="m-2")), ShardPosition("arn:stream", "shardId-1", "43"))
    assert ChimeShardCheckpoint.objects.get().sequence_number == "42"
    with pytest.raises(RecordError):
        mirror.apply_record(b"garbage", ShardPosition("arn:stream", "shardId-1", "44"))
    mirror.skip_record(ShardPosition("arn:stream", "shardId-1", "44"))
    mirror.finish_shard("arn:stream", "shardId-1")
    assert mirror.checkpoints("arn:stream") == {"shardId-1": ("44", True)}


def _json(value) -> bytes:
    import json

    return json.dumps(value).encode()


# --- Replies (issue 17): `reply_to` in the metadata names the original's MessageId ---


def reply(message_id="m-2", reply_to="m-1", sender="mod", at=5):
    return created(message_id, content="me!", sender=sender, at=at, metadata={"reply_to": reply_to})


def test_a_reply_from_another_chime_client_quotes_its_original_and_tells_its_author(chime_room, monkeypatch):
    from chat import events

    told = []
    monkeypatch.setattr(events, "notify_user", lambda user_id, frame: told.append((user_id, frame["type"])))
    chime_room.apply(created(content="who brings the wool?"))
    assert chime_room.apply(reply()) == "applied"
    original, answer = Message.objects.order_by("pk")
    assert answer.reply_to_id == original.pk
    quoted = chime_room.published[-1]["message"]["reply_to"]
    assert quoted == {
        "id": original.pk,
        "author": {"id": chime_room.ann.pk, "username": "ann"},
        "excerpt": "who brings the wool?",
        "deleted": False,
    }
    assert told == [(chime_room.ann.pk, "reply")]
    assert chime_room.apply(reply()) == "duplicate"


def test_a_reply_to_a_message_that_never_reached_us_shows_the_original_deleted(chime_room):
    chime_room.apply(reply(reply_to="m-elsewhere"))
    answer = Message.objects.get()
    assert answer.reply_to_id == mirror.MISSING_ORIGINAL
    assert chime_room.published[-1]["message"]["reply_to"] == {
        "id": mirror.MISSING_ORIGINAL,
        "author": None,
        "excerpt": "",
        "deleted": True,
    }


def test_a_reply_to_a_deleted_message_refers_to_it_as_deleted(chime_room):
    chime_room.apply(created())
    gone = Message.objects.get().pk
    chime_room.apply(deleted())
    chime_room.apply(reply())
    answer = Message.objects.get()
    assert answer.reply_to_id == gone
    assert chime_room.published[-1]["message"]["reply_to"]["deleted"] is True


@pytest.mark.parametrize("change", [redacted, deleted])
def test_a_redacted_or_deleted_original_leaves_no_quote_in_its_replies_replay(chime_room, change):
    chime_room.apply(created(content="secret plans"))
    chime_room.apply(reply())
    chime_room.apply(change())
    answer = Message.objects.get(chime_message_id="m-2")
    stored = StreamEvent.objects.filter(message=answer).values_list("body", flat=True)
    assert "secret plans" not in str(list(stored))
    assert all(body["message"]["reply_to"]["deleted"] for body in stored)


# --- What a record costs the relay (bench/relay.py): a constant, small number of statements ---


def test_a_new_message_and_its_checkpoint_take_a_constant_few_statements(chime_room, django_assert_num_queries):
    from django.db import connection

    # A savepoint here (BEGIN in the relay); the message by MessageId; its parked events; the channel
    # and the author by ARN; a savepoint; the stream's seq; the INSERT; the stream event; (SQLite: the
    # search index's DELETE and INSERT); its release; the parked reactions; the checkpoint's one
    # UPDATE; the release (COMMIT in the relay). Was 21 on SQLite, 19 on PostgreSQL.
    statements = 15 if connection.vendor == "sqlite" else 13
    mirror.apply_record(_json(created(message_id="m-0")), ShardPosition("arn:stream", "shardId-1", "1"))
    for number in range(1, 4):
        with django_assert_num_queries(statements):
            record = created(message_id=f"m-{number}", at=number)
            assert (
                mirror.apply_record(_json(record), ShardPosition("arn:stream", "shardId-1", str(number))) == "applied"
            )
    assert mirror.checkpoints("arn:stream") == {"shardId-1": ("3", False)}
    assert Message.objects.count() == 4
