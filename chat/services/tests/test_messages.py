import uuid

import pytest

from chat import events
from chat.exceptions import ChannelNotFound, ChatError, InvalidRequest, NotAllowed
from chat.models import Message, MessageRevision, Privacy, StreamEvent
from chat.services import messages as service
from chat.services import ratelimit
from chat.services.memberships import add_members, ban_user
from chat.services.payloads import message_payload
from chat.services.ratelimit import TokenBucket


def send(user, channel, content="hello", **kwargs):
    kwargs.setdefault("client_msg_id", uuid.uuid4())
    return service.send_message(actor=user, channel_id=channel.pk, content=content, **kwargs)


@pytest.mark.django_db
def test_send_stores_message_and_sequenced_event(room):
    channel, mod, ann = room
    first = send(ann, channel, "hi **all**").message
    second = send(mod, channel, "hey").message
    assert (first.html, first.stream_id) == ("<p>hi <strong>all</strong></p>", str(channel.pk))
    stored = list(StreamEvent.objects.filter(stream_id=str(channel.pk)).order_by("seq").values_list("seq", "type"))
    seqs = [seq for seq, _ in stored]
    assert seqs == list(range(1, len(seqs) + 1))
    assert second.seq == first.seq + 1
    assert stored[-2:] == [(first.seq, "message.created"), (second.seq, "message.created")]


@pytest.mark.django_db
def test_a_retried_send_returns_the_original(room):
    channel, _, ann = room
    client_msg_id = uuid.uuid4()
    first = send(ann, channel, "once", client_msg_id=client_msg_id)
    again = send(ann, channel, "once", client_msg_id=client_msg_id)
    assert (first.created, again.created) == (True, False)
    assert again.message.pk == first.message.pk
    assert Message.objects.count() == 1


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("content", "metadata", "error"),
    [
        ("", None, service.EmptyMessage),
        ("   \n ", None, service.EmptyMessage),
        ("é" * 2049, None, service.ContentTooLong),
        ("ok", {"x": "y" * 1020}, service.MetadataTooLong),
        ("ok", ["not", "an", "object"], service.MessageRefused),
        (42, None, service.MessageRefused),
        # Lone surrogates (JSON's "\ud800") are not text: they cannot be stored, rendered or sent on.
        ("\ud800 brb", None, InvalidRequest),
        ("ok", {"note": "a\udfffb"}, InvalidRequest),
        ("ok", {"k\udc00": ["deep"]}, InvalidRequest),
    ],
)
def test_bad_content_is_refused_and_nothing_stored(room, content, metadata, error):
    channel, _, ann = room
    with pytest.raises(error):
        send(ann, channel, content, metadata=metadata)
    assert Message.objects.count() == 0


@pytest.mark.django_db
def test_content_limit_is_bytes_not_characters(room):
    channel, _, ann = room
    assert send(ann, channel, "é" * 2048).created  # exactly 4096 bytes


@pytest.mark.django_db
def test_private_channel_is_not_found_for_outsiders(room, outsider):
    channel, _, _ = room
    with pytest.raises(ChannelNotFound):
        send(outsider, channel)


@pytest.mark.django_db
def test_non_member_sending_to_public_channel_joins_first(make_channel, make_user, outsider):
    channel = make_channel(make_user("owner"), privacy=Privacy.PUBLIC)
    result = send(outsider, channel, "first words")
    assert result.created
    assert channel.memberships.filter(user=outsider).exists()
    types = list(StreamEvent.objects.filter(stream_id=str(channel.pk)).order_by("seq").values_list("type", flat=True))
    assert types[-2:] == ["member.joined", "message.created"]


@pytest.mark.django_db
def test_banned_people_cannot_send(make_channel, make_user, outsider):
    owner = make_user("owner")
    channel = make_channel(owner, privacy=Privacy.PUBLIC)
    ban_user(actor=owner, channel=channel, user=outsider)
    with pytest.raises(service.Banned):
        send(outsider, channel)


@pytest.mark.django_db
def test_mentions_of_members_are_highlighted(room):
    channel, _, ann = room
    message = send(ann, channel, "thanks @mod, and @nobody").message
    assert '<span class="mention">@mod</span>' in message.html
    assert "@nobody" in message.html
    assert 'class="mention">@nobody' not in message.html


@pytest.mark.django_db
def test_authors_edit_their_own_and_revisions_are_kept(room):
    channel, mod, ann = room
    message = send(ann, channel, "frist").message
    edited = service.edit_message(actor=ann, message_id=message.pk, content="first")
    assert (edited.content, edited.edited_at is not None) == ("first", True)
    assert list(MessageRevision.objects.filter(message=message).values_list("content", flat=True)) == ["frist"]
    with pytest.raises(NotAllowed):
        service.edit_message(actor=mod, message_id=message.pk, content="moderators cannot edit")
    assert StreamEvent.objects.filter(message=message, type="message.edited").count() == 1


@pytest.mark.django_db
def test_an_edit_to_text_that_is_not_unicode_is_refused(room):
    channel, _, ann = room
    message = send(ann, channel, "fine").message
    with pytest.raises(InvalidRequest):
        service.edit_message(actor=ann, message_id=message.pk, content="\ud800 oops")
    message.refresh_from_db()
    assert (message.content, message.edited_at) == ("fine", None)


@pytest.mark.django_db
@pytest.mark.parametrize("redactor", ["ann", "mod"])
def test_author_or_moderator_redacts_and_the_content_is_gone_everywhere(room, redactor):
    channel, mod, ann = room
    message = send(ann, channel, "secret phone number").message
    service.edit_message(actor=ann, message_id=message.pk, content="secret phone number 555")
    service.redact_message(actor={"ann": ann, "mod": mod}[redactor], message_id=message.pk)
    message.refresh_from_db()
    assert (message.content, message.html, message.redacted_at is not None) == ("", "", True)
    assert not MessageRevision.objects.filter(message=message).exists()
    for body in StreamEvent.objects.filter(stream_id=str(channel.pk)).values_list("body", flat=True):
        assert "secret" not in str(body)
    last = StreamEvent.objects.filter(stream_id=str(channel.pk)).latest("seq")
    assert (last.type, last.body["message"]["redacted"]) == ("message.redacted", True)


@pytest.mark.django_db
def test_other_members_cannot_redact(room, make_user):
    channel, mod, ann = room
    bob = make_user("bob")
    add_members(actor=mod, channel=channel, users=[bob])
    message = send(ann, channel).message
    with pytest.raises(NotAllowed):
        service.redact_message(actor=bob, message_id=message.pk)


@pytest.mark.django_db
def test_only_admins_hard_delete(room, admin_user):
    channel, mod, ann = room
    message = send(ann, channel, "spam spam").message
    with pytest.raises(NotAllowed):
        service.delete_message(actor=mod, message_id=message.pk)
    service.delete_message(actor=admin_user, message_id=message.pk)
    assert not Message.objects.filter(pk=message.pk).exists()
    bodies = list(StreamEvent.objects.filter(stream_id=str(channel.pk)).order_by("seq").values_list("type", "body"))
    assert bodies[-1] == ("message.deleted", {"channel": channel.pk, "message": {"id": message.pk}})
    assert "spam" not in str(bodies)


CHANGES = {
    "edit": lambda actor, message_id: service.edit_message(actor=actor, message_id=message_id, content="mine now"),
    "redact": lambda actor, message_id: service.redact_message(actor=actor, message_id=message_id),
    "delete": lambda actor, message_id: service.delete_message(actor=actor, message_id=message_id),
}


def refusal(change, actor, message_id) -> tuple[type, str]:
    with pytest.raises(ChatError) as refused:
        CHANGES[change](actor, message_id)
    return type(refused.value), str(refused.value)


@pytest.mark.django_db
@pytest.mark.parametrize("change", sorted(CHANGES))
def test_changing_a_message_of_an_invisible_channel_says_it_does_not_exist(room, outsider, change):
    """The same answer as for an id that was never used: ids of other channels' messages leak nothing."""
    channel, _, ann = room
    message = send(ann, channel).message
    assert refusal(change, outsider, message.pk) == refusal(change, outsider, message.pk + 1000)
    assert refusal(change, outsider, message.pk) == (InvalidRequest, "That message does not exist.")
    assert Message.objects.get(pk=message.pk).content == "hello"


@pytest.mark.django_db
def test_slow_mode_spaces_out_members_but_not_moderators(room):
    channel, mod, ann = room
    service.set_slow_mode(actor=mod, channel_id=channel.pk, seconds=30)
    send(ann, channel, "one")
    with pytest.raises(service.SlowMode) as refused:
        send(ann, channel, "two")
    assert 0 < refused.value.retry_after <= 30
    send(mod, channel, "moderators are not slowed")
    send(mod, channel, "at all")
    with pytest.raises(NotAllowed):
        service.set_slow_mode(actor=ann, channel_id=channel.pk, seconds=0)


@pytest.mark.django_db
def test_the_send_rate_is_per_person_and_a_retry_costs_nothing(room, monkeypatch):
    channel, mod, ann = room
    bucket = TokenBucket(rate=0.01, burst=2)
    monkeypatch.setattr(ratelimit, "send_rate", lambda: bucket)
    first = send(ann, channel, "one")
    send(ann, channel, "one again", client_msg_id=first.message.client_msg_id)  # a retry: no token
    send(ann, channel, "two")
    with pytest.raises(service.RateLimited) as refused:
        send(ann, channel, "three")
    assert refused.value.code == "rate_limited"
    assert 0 < refused.value.retry_after <= 100
    assert send(mod, channel, "others still send").created
    assert Message.objects.filter(author=ann).count() == 2


@pytest.mark.django_db
def test_nothing_is_broadcast_before_commit(room, monkeypatch, django_capture_on_commit_callbacks):
    channel, _, ann = room
    sent = []
    monkeypatch.setattr(events, "send_group", lambda group, handler, frame: sent.append(frame))
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        send(ann, channel, "after commit only")
    assert sent == []
    for callback in callbacks:
        callback()
    assert [frame["type"] for frame in sent] == ["message.created"]


@pytest.mark.django_db
def test_a_failed_send_rolls_back_and_broadcasts_nothing(room, monkeypatch, django_capture_on_commit_callbacks):
    channel, _, ann = room
    sent = []
    monkeypatch.setattr(events, "send_group", lambda group, handler, frame: sent.append(frame))

    def explode(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(service.search_index, "index_message", explode)
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(RuntimeError):
        send(ann, channel, "lost")
    assert sent == []
    assert not Message.objects.exists()
    assert not StreamEvent.objects.filter(type="message.created").exists()


# Attachments travel with the message (chat/services/attachments.py), on both storage backends.

PDF = b"%PDF-1.4\n1 0 obj\n<<>>\nendobj\ntrailer\n<<>>\n%%EOF\n"


@pytest.mark.django_db
def test_a_send_lists_and_attaches_the_senders_uploads(attachment_world, upload_file, make_image):
    from chat.models import AttachmentState

    world = attachment_world
    image = upload_file(world.member, world.channel, "cat.png", make_image(), "image/png")
    paper = upload_file(world.member, world.channel, "notes.pdf", PDF, "application/pdf")
    message = send(world.member, world.channel, "", attachment_ids=[image.pk, paper.pk]).message
    assert [item["name"] for item in message.metadata["attachments"]] == ["cat.png", "notes.pdf"]
    assert message_payload(message)["metadata"]["attachments"][0]["type"] == "image/png"
    for upload in (image, paper):
        upload.refresh_from_db()
        assert (upload.state, upload.message_id) == (AttachmentState.ATTACHED, message.pk)


@pytest.mark.django_db
@pytest.mark.parametrize("with_files", [False, True])
def test_a_client_written_attachment_list_is_refused_and_nothing_stored(attachment_world, upload_file, with_files):
    """Only the server lists files: a forged list would show chips of someone else's uploads."""
    world = attachment_world
    theirs = upload_file(world.owner, world.channel, "PAYROLL.pdf", PDF, "application/pdf")
    mine = [upload_file(world.member, world.channel, "notes.pdf", PDF, "application/pdf").pk] if with_files else []
    forged = {"attachments": [{"id": theirs.pk, "key": theirs.key, "name": "PAYROLL.pdf", "size": 1, "type": "x"}]}
    with pytest.raises(service.MessageRefused) as refused:
        send(world.member, world.channel, "look", metadata=forged, attachment_ids=mine)
    assert refused.value.code == "invalid"
    assert "attachments" in refused.value.message
    assert not Message.objects.exists()
    assert send(world.member, world.channel, "fine", metadata={"kind": "note"}).message.metadata == {"kind": "note"}


@pytest.mark.django_db
def test_someone_elses_upload_cannot_be_sent_and_nothing_is_stored(attachment_world, upload_file):
    from chat.attachments.errors import AttachmentError

    world = attachment_world
    theirs = upload_file(world.owner, world.channel, "owner.pdf", PDF, "application/pdf")
    with pytest.raises(AttachmentError):
        send(world.member, world.channel, "look", attachment_ids=[theirs.pk])
    theirs.refresh_from_db()
    assert theirs.message_id is None
    assert not Message.objects.filter(content="look").exists()


@pytest.mark.django_db
def test_redacting_hides_the_files_and_deleting_removes_them(
    attachment_world, upload_file, admin_user, django_capture_on_commit_callbacks
):
    from chat.attachments.storage import get_storage
    from chat.models import Attachment, AttachmentState

    world = attachment_world
    first = upload_file(world.member, world.channel, "a.pdf", PDF, "application/pdf")
    second = upload_file(world.member, world.channel, "b.pdf", PDF, "application/pdf")
    redacted = send(world.member, world.channel, "one", attachment_ids=[first.pk]).message
    deleted = send(world.member, world.channel, "two", attachment_ids=[second.pk]).message
    service.redact_message(actor=world.member, message_id=redacted.pk)
    first.refresh_from_db()
    assert first.state == AttachmentState.HIDDEN
    assert Message.objects.get(pk=redacted.pk).metadata == {}
    with django_capture_on_commit_callbacks(execute=True):
        service.delete_message(actor=admin_user, message_id=deleted.pk)
    assert not Attachment.objects.filter(pk=second.pk).exists()
    assert not get_storage().exists(second.key)
