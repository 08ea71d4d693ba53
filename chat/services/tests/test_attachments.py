"""chat/services/attachments.py on both backends: uploads, verification, limits, sending, hiding, deleting.

moto ignores POST policies and expiry, so every limit here is checked against our own code:
the forged objects below are what a store that does not enforce policies would accept.
"""

from __future__ import annotations

import base64
import json
import re
from datetime import timedelta

import pytest
from django.utils import timezone

from chat.attachments import checks, storage
from chat.attachments.errors import AttachmentError, AttachmentNotFound
from chat.models import Attachment, AttachmentState, Ban, Privacy
from chat.services import attachments

PDF = b"%PDF-1.4\n1 0 obj << >> endobj\ntrailer << >>\n%%EOF\n"
KEY_PATTERN = r"attachments/{channel}/[0-9a-f]{{32}}/{name}"


def stored(key: str) -> bool:
    return bool(key) and storage.get_storage().exists(key)


def read(key: str) -> bytes:
    with storage.open_stored(key) as file:
        return file.read()


# Uploading, on both backends


def test_upload_stores_the_bytes_under_a_fresh_key(attachment_world, upload_file):
    world = attachment_world
    first = upload_file(world.owner, world.channel, "../notes ü.txt", b"hello", "text/plain")
    second = upload_file(world.owner, world.channel, "notes ü.txt", b"other", "text/plain")
    for attachment in (first, second):
        assert re.fullmatch(KEY_PATTERN.format(channel=world.channel.pk, name="notes ü.txt"), attachment.key)
        assert attachment.state == AttachmentState.UPLOADED
        assert attachment.name == "notes ü.txt"
    assert first.key != second.key
    assert (read(first.key), read(second.key)) == (b"hello", b"other")  # nothing overwritten


def test_upload_instructions_per_backend(attachment_world, attachment_backend):
    world = attachment_world
    attachment, how = attachments.start_upload(
        actor=world.owner, channel=world.channel, name="a.pdf", size=len(PDF), content_type="application/pdf"
    )
    assert how.backend == attachment_backend
    if attachment_backend == "local":
        assert how.url == f"/attachments/{attachment.pk}/upload/"
        assert how.fields == {}
    else:
        assert how.url.startswith(storage.get_storage().endpoint_url)
    assert attachment.state == AttachmentState.PENDING


@pytest.mark.parametrize("attachment_backend", ["s3"], indirect=True)
def test_presigned_post_policy_pins_key_type_and_size(attachment_world, settings):
    world = attachment_world
    attachment, how = attachments.start_upload(
        actor=world.owner, channel=world.channel, name="photo.png", size=1234, content_type="image/png"
    )
    assert how.fields["key"] == attachment.key
    assert how.fields["Content-Type"] == "image/png"
    policy = json.loads(base64.b64decode(how.fields["policy"]))
    conditions = policy["conditions"]
    assert {"key": attachment.key} in conditions
    assert {"Content-Type": "image/png"} in conditions
    assert ["content-length-range", 1234, 1234] in conditions
    assert {"bucket": storage.get_storage().bucket_name} in conditions
    assert not any(isinstance(c, list) and c[0] == "starts-with" for c in conditions)  # nothing left open
    expires = timezone.datetime.fromisoformat(policy["expiration"].replace("Z", "+00:00"))
    remaining = (expires - timezone.now()).total_seconds()
    assert 0 < remaining <= settings.ATTACHMENTS_UPLOAD_EXPIRES
    assert how.fields["x-amz-algorithm"] == "AWS4-HMAC-SHA256"


def test_unicode_name_uploads_over_real_http(attachment_world, upload_file):
    world = attachment_world
    attachment = upload_file(world.owner, world.channel, "日本の写真 №1.pdf", PDF, "application/pdf")
    assert attachment.key.endswith("/日本の写真 №1.pdf")
    assert read(attachment.key) == PDF


@pytest.mark.parametrize(
    ("name", "data", "declared_type"),
    [
        ("cat.png", b"this is text, not a PNG at all", "image/png"),  # a PNG-named text file
        ("cat.jpg", b"\x89PNG\r\n\x1a\n" + b"0" * 20, "image/jpeg"),  # a PNG named .jpg
        ("paper.pdf", b"<html><script>alert(1)</script></html>", "application/pdf"),
    ],
)
def test_sniffing_refuses_bytes_that_are_not_the_declared_type(
    attachment_world, upload_file, name, data, declared_type
):
    world = attachment_world
    with pytest.raises(AttachmentError, match="not a real"):
        upload_file(world.owner, world.channel, name, data, declared_type)
    assert not Attachment.objects.exists()  # the row went, and with it the quota it held


def objects_in(channel) -> list[str]:
    try:
        directories, files = storage.get_storage().listdir(f"attachments/{channel.pk}/")
    except FileNotFoundError:  # local disk: the folder was never made
        return []
    return directories + files


def test_refused_bytes_leave_no_object_behind(attachment_world, upload_file):
    world = attachment_world
    with pytest.raises(AttachmentError):
        upload_file(world.owner, world.channel, "cat.png", b"plain text pretending", "image/png")
    assert objects_in(world.channel) == []


def forge(attachment, data: bytes, content_type: str) -> None:
    """What a store that ignores the POST policy would accept: any bytes under the pinned key."""
    store = storage.get_storage()
    store.connection.meta.client.put_object(
        Bucket=store.bucket_name, Key=attachment.key, Body=data, ContentType=content_type
    )


@pytest.mark.parametrize("attachment_backend", ["s3"], indirect=True)
@pytest.mark.parametrize(
    ("data", "stored_type", "reason"),
    [
        (PDF + b"more bytes than declared", "application/pdf", "not the"),
        (PDF[:10], "application/pdf", "not the"),
        (PDF, "text/html", "arrived as text/html"),
        (PDF, "application/octet-stream", "arrived as"),
    ],
)
def test_verification_refuses_an_object_that_differs_from_what_was_declared(
    attachment_world, data, stored_type, reason
):
    world = attachment_world
    attachment, _ = attachments.start_upload(
        actor=world.owner, channel=world.channel, name="paper.pdf", size=len(PDF), content_type="application/pdf"
    )
    forge(attachment, data, stored_type)
    with pytest.raises(AttachmentError, match=reason):
        attachments.complete_upload(actor=world.owner, attachment_id=attachment.pk)
    assert not stored(attachment.key)
    assert not Attachment.objects.filter(pk=attachment.pk).exists()


@pytest.mark.parametrize("attachment_backend", ["local"], indirect=True)
@pytest.mark.parametrize("actual", [b"x" * 5, b"x" * 50])
def test_local_upload_refuses_a_size_other_than_declared(attachment_world, upload_file, actual):
    # On S3 the same check is the HEAD in complete_upload (the test above); the local backend
    # counts the bytes as they come and never stores what it has not checked.
    world = attachment_world
    with pytest.raises(AttachmentError, match="announced"):
        upload_file(world.owner, world.channel, "notes.txt", actual, "text/plain", declared_size=10)
    assert not Attachment.objects.exists()


def test_complete_before_the_object_arrives_keeps_the_upload_pending(attachment_world, attachment_backend):
    world = attachment_world
    attachment, _ = attachments.start_upload(
        actor=world.owner, channel=world.channel, name="a.txt", size=3, content_type="text/plain"
    )
    with pytest.raises(AttachmentError, match="not arrived|not been uploaded"):
        attachments.complete_upload(actor=world.owner, attachment_id=attachment.pk)
    attachment.refresh_from_db()
    assert attachment.state == AttachmentState.PENDING


def test_someone_elses_upload_is_not_found(attachment_world, upload_file):
    world = attachment_world
    attachment, _ = attachments.start_upload(
        actor=world.owner, channel=world.channel, name="a.txt", size=3, content_type="text/plain"
    )
    for call in (attachments.complete_upload, attachments.cancel_upload):
        with pytest.raises(AttachmentNotFound):
            call(actor=world.member, attachment_id=attachment.pk)


@pytest.mark.parametrize(("size", "ok"), [(1, True), (1000, True), (1001, False), (0, False)])
def test_size_limit_at_start(attachment_world, settings, size, ok):
    settings.ATTACHMENTS_MAX_BYTES = 1000
    world = attachment_world

    def start():
        attachments.start_upload(actor=world.owner, channel=world.channel, name="a.txt", size=size, content_type="")

    if ok:
        start()
    else:
        with pytest.raises(AttachmentError, match="at most|empty"):
            start()


def test_daily_quota(attachment_world, settings):
    settings.ATTACHMENTS_DAILY_QUOTA_BYTES = 100
    world = attachment_world

    def start(size: int, actor=world.owner) -> Attachment:
        attachment, _ = attachments.start_upload(
            actor=actor, channel=world.channel, name="a.txt", size=size, content_type="text/plain"
        )
        return attachment

    first = start(60)
    with pytest.raises(AttachmentError, match="daily upload allowance.*40 bytes left"):
        start(50)
    start(50, actor=world.member)  # the quota is per person
    attachments.cancel_upload(actor=world.owner, attachment_id=first.pk)  # cancelling gives it back
    second = start(50)
    Attachment.objects.filter(pk=second.pk).update(created_at=timezone.now() - timedelta(hours=25))
    start(100)  # yesterday's uploads no longer count
    assert checks.used_quota(world.owner) == 100


def test_unfinished_uploads_are_capped_per_person(attachment_world, upload_file, settings):
    settings.ATTACHMENTS_MAX_PENDING_UPLOADS = 3
    world = attachment_world

    def start(actor=world.owner) -> Attachment:
        attachment, _ = attachments.start_upload(
            actor=actor, channel=world.channel, name="a.txt", size=3, content_type="text/plain"
        )
        return attachment

    started = [start() for _ in range(3)]
    with pytest.raises(AttachmentError, match="3 uploads under way.*finish or remove one"):
        start()
    assert Attachment.objects.filter(uploader=world.owner).count() == 3
    start(actor=world.member)  # the cap is per person
    attachments.cancel_upload(actor=world.owner, attachment_id=started[0].pk)  # removing one frees its place
    start()
    upload_file(world.member, world.channel, "b.txt", b"bbb", "text/plain")  # finished ones do not count
    start(actor=world.member)
    Attachment.objects.filter(pk=started[1].pk).update(created_at=timezone.now() - timedelta(hours=25))
    start()  # nor do abandoned ones the cleanup would delete


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("attachment_backend", ["local"], indirect=True)
def test_unfinished_uploads_started_all_at_once_still_stop_at_the_cap(attachment_world, settings):
    import threading

    from django.db import connection

    settings.ATTACHMENTS_MAX_PENDING_UPLOADS = 3
    world = attachment_world
    barrier = threading.Barrier(6)
    outcomes: list[str] = []

    def start() -> None:
        barrier.wait()
        try:
            attachments.start_upload(actor=world.owner, channel=world.channel, name="a.txt", size=3, content_type="")
            outcomes.append("started")
        except AttachmentError:
            outcomes.append("refused")
        finally:
            connection.close()

    threads = [threading.Thread(target=start) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["refused"] * 3 + ["started"] * 3
    assert Attachment.objects.filter(uploader=world.owner).count() == 3


def test_the_default_cap_refuses_the_21st_unfinished_upload(attachment_world):
    world = attachment_world

    def start() -> None:
        attachments.start_upload(actor=world.owner, channel=world.channel, name="a.txt", size=3, content_type="")

    for _ in range(20):
        start()
    with pytest.raises(AttachmentError, match="20 uploads under way"):
        start()


def test_outsider_cannot_upload_to_a_private_channel(attachment_world):
    world = attachment_world
    with pytest.raises(AttachmentNotFound):
        attachments.start_upload(
            actor=world.outsider, channel=world.channel, name="a.txt", size=3, content_type="text/plain"
        )


def test_banned_user_cannot_upload_to_a_public_channel(attachment_backend, make_user, make_channel):
    owner, banned = make_user("owner"), make_user("banned")
    channel = make_channel(owner, name="Open", privacy=Privacy.PUBLIC)
    Ban.objects.create(channel=channel, user=banned)
    with pytest.raises(AttachmentError, match="cannot send"):
        attachments.start_upload(actor=banned, channel=channel, name="a.txt", size=3, content_type="text/plain")


def test_cancel_removes_row_and_objects(attachment_world, upload_file, make_image, django_capture_on_commit_callbacks):
    world = attachment_world
    attachment = upload_file(world.owner, world.channel, "p.png", make_image(), "image/png")
    assert stored(attachment.key)
    assert stored(attachment.thumbnail_key)
    with django_capture_on_commit_callbacks(execute=True):
        attachments.cancel_upload(actor=world.owner, attachment_id=attachment.pk)
    assert not Attachment.objects.exists()
    assert not stored(attachment.key)
    assert not stored(attachment.thumbnail_key)


# Sending with a message


def test_attachments_for_message_and_attach(attachment_world, upload_file, make_message):
    world = attachment_world
    first = upload_file(world.owner, world.channel, "a.txt", b"aaa", "text/plain")
    second = upload_file(world.owner, world.channel, "b.pdf", PDF, "application/pdf")
    listed = attachments.attachments_for_message(
        actor=world.owner, channel=world.channel, ids=[str(second.pk), first.pk, second.pk]
    )
    assert listed == [
        {"id": second.pk, "key": second.key, "name": "b.pdf", "size": len(PDF), "type": "application/pdf"},
        {"id": first.pk, "key": first.key, "name": "a.txt", "size": 3, "type": "text/plain"},
    ]
    message = make_message(world.channel, world.owner)
    assert attachments.attach(actor=world.owner, message=message, ids=[item["id"] for item in listed]) == 2
    assert set(message.attachments.values_list("state", flat=True)) == {AttachmentState.ATTACHED}
    with pytest.raises(AttachmentError, match="already sent"):  # never twice
        attachments.attachments_for_message(actor=world.owner, channel=world.channel, ids=[first.pk])
    with pytest.raises(AttachmentError):
        attachments.attach(actor=world.owner, message=make_message(world.channel, world.owner), ids=[first.pk])


@pytest.mark.parametrize("case", ["pending", "someone else's", "other channel", "missing", "not a number"])
def test_attachments_for_message_refuses(attachment_world, upload_file, make_channel, case):
    world = attachment_world
    if case == "pending":
        attachment, _ = attachments.start_upload(
            actor=world.owner, channel=world.channel, name="a.txt", size=3, content_type="text/plain"
        )
        ids = [attachment.pk]
    elif case == "someone else's":
        ids = [upload_file(world.member, world.channel, "a.txt", b"aaa", "text/plain").pk]
    elif case == "other channel":
        other = make_channel(world.owner, name="Elsewhere", privacy=Privacy.PRIVATE)
        ids = [upload_file(world.owner, other, "a.txt", b"aaa", "text/plain").pk]
    elif case == "missing":
        ids = [987654]
    else:
        ids = ["1; DROP TABLE"]
    with pytest.raises(AttachmentError):
        attachments.attachments_for_message(actor=world.owner, channel=world.channel, ids=ids)


def test_max_files_per_message(attachment_world, upload_file, settings):
    settings.ATTACHMENTS_MAX_FILES = 2
    world = attachment_world
    ids = [upload_file(world.owner, world.channel, f"{n}.txt", b"x", "text/plain").pk for n in range(3)]
    with pytest.raises(AttachmentError, match="at most 2 files"):
        attachments.attachments_for_message(actor=world.owner, channel=world.channel, ids=ids)
    assert len(attachments.attachments_for_message(actor=world.owner, channel=world.channel, ids=ids[:2])) == 2
    assert attachments.attachments_for_message(actor=world.owner, channel=world.channel, ids=[]) == []


def sent(world, upload_file, make_message, name="a.txt", data=b"aaa", content_type="text/plain"):
    attachment = upload_file(world.owner, world.channel, name, data, content_type)
    message = make_message(world.channel, world.owner)
    attachments.attach(actor=world.owner, message=message, ids=[attachment.pk])
    return attachment, message


def test_readers_are_members_only_in_a_private_channel(attachment_world, upload_file, make_message, admin_user):
    world = attachment_world
    attachment, _ = sent(world, upload_file, make_message)
    for reader in (world.owner, world.member, admin_user):
        assert attachments.readable_attachment(actor=reader, attachment_id=attachment.pk) == attachment
    with pytest.raises(AttachmentNotFound):
        attachments.readable_attachment(actor=world.outsider, attachment_id=attachment.pk)


def test_redacted_message_hides_its_attachments(attachment_world, upload_file, make_message):
    world = attachment_world
    attachment, message = sent(world, upload_file, make_message)
    assert attachments.hide_for_redacted(message=message) == 1
    for reader in (world.owner, world.member):
        with pytest.raises(AttachmentNotFound):
            attachments.readable_attachment(actor=reader, attachment_id=attachment.pk)
    assert stored(attachment.key)  # hidden, not deleted: the row stays too


def test_deleted_message_deletes_its_objects(
    attachment_world, upload_file, make_message, make_image, django_capture_on_commit_callbacks
):
    world = attachment_world
    attachment, message = sent(world, upload_file, make_message, "p.png", make_image(), "image/png")
    with django_capture_on_commit_callbacks(execute=True):
        assert attachments.delete_for_message(message=message) == 1
        message.delete()
    assert not Attachment.objects.exists()
    assert not stored(attachment.key)
    assert not stored(attachment.thumbnail_key)


def test_deleted_channel_deletes_its_objects(
    attachment_world, upload_file, make_message, django_capture_on_commit_callbacks
):
    world = attachment_world
    unsent = upload_file(world.owner, world.channel, "a.txt", b"aaa", "text/plain")
    attachment, _ = sent(world, upload_file, make_message)
    with django_capture_on_commit_callbacks(execute=True):
        assert attachments.delete_for_channel(channel=world.channel) == 2
        world.channel.delete()
    assert not Attachment.objects.exists()
    assert not stored(unsent.key)
    assert not stored(attachment.key)
