"""manage.py cleanup_attachments on both backends."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from chat.attachments import storage
from chat.models import Attachment
from chat.services import attachments


def stored(key: str) -> bool:
    return bool(key) and storage.get_storage().exists(key)


def age(attachment: Attachment, hours: float) -> Attachment:
    Attachment.objects.filter(pk=attachment.pk).update(created_at=timezone.now() - timedelta(hours=hours))
    return attachment


def run(*args: str) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command("cleanup_attachments", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


@pytest.fixture
def uploads(attachment_world, upload_file, make_message, make_image):
    """Old unsent uploads (one with a thumbnail), an old pending one, an old sent one, a fresh unsent one."""
    world = attachment_world

    def upload(name: str, data: bytes = b"abc", content_type: str = "text/plain") -> Attachment:
        return upload_file(world.owner, world.channel, name, data, content_type)

    stale_image = age(upload("old.png", make_image(), "image/png"), 30)
    stale_file = age(upload("old.txt"), 25)
    pending, _ = attachments.start_upload(
        actor=world.owner, channel=world.channel, name="never.txt", size=3, content_type="text/plain"
    )
    stale_pending = age(pending, 48)
    sent = upload("sent.txt")
    attachments.attach(actor=world.owner, message=make_message(world.channel, world.owner), ids=[sent.pk])
    age(sent, 100)
    fresh = age(upload("fresh.txt"), 2)
    return {"stale": [stale_image, stale_file, stale_pending], "kept": [sent, fresh]}


def test_dry_run_changes_nothing(uploads):
    before = set(Attachment.objects.values_list("pk", "state"))
    out, _ = run("--dry-run")
    assert "Would delete 3 upload(s)" in out
    assert set(Attachment.objects.values_list("pk", "state")) == before
    stale_image = uploads["stale"][0]
    assert stored(stale_image.key)
    assert stored(stale_image.thumbnail_key)


def test_removes_unattached_uploads_and_their_files(uploads):
    out, err = run("--batch-size", "2")
    assert "Deleted 3 upload(s)" in out
    assert "3/3 100%" in err  # the progress bar, on stderr
    assert set(Attachment.objects.values_list("pk", flat=True)) == {a.pk for a in uploads["kept"]}
    for attachment in uploads["stale"]:
        assert not stored(attachment.key)
        assert not stored(attachment.thumbnail_key)
    for attachment in uploads["kept"]:
        assert stored(attachment.key)


def test_older_than(uploads):
    out, _ = run("--older-than", "1")
    assert "Deleted 4 upload(s)" in out  # the fresh unsent one too, now
    assert list(Attachment.objects.values_list("name", flat=True)) == ["sent.txt"]


def test_rows_left_by_a_deleted_message_are_removed(uploads):
    sent = uploads["kept"][0]
    Attachment.objects.get(pk=sent.pk).message.delete()  # a hard delete that skipped delete_for_message
    out, _ = run()
    assert "Deleted 4 upload(s)" in out
    assert not stored(sent.key)


def test_nothing_to_do(attachment_backend, db):
    out, err = run()
    assert "Deleted 0 upload(s)" in out
    assert err == ""


@pytest.mark.parametrize("args", [("--older-than", "-1"), ("--batch-size", "0")])
def test_bad_arguments(db, args):
    with pytest.raises(CommandError):
        run(*args)
