"""Attachment writes and reads: uploads, sending them with a message, hiding, deleting, cleanup.

Life of an upload (``Attachment.state``):

    start_upload  -> PENDING   a row, a unique key, the upload instructions (quota reserved)
    store_local_upload (local) / complete_upload (S3, verifies the object)
                  -> UPLOADED  the bytes are in storage and checked; thumbnail made for images
    attach        -> ATTACHED  listed in a message's metadata (inside the send transaction)
    hide_for_redacted -> HIDDEN; delete_for_message / cancel_upload / cleanup -> row and objects gone

Names and keys, checks, storage and thumbnails are the capability's own modules
(chat/attachments/); this module decides who may do what and writes the rows.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.files.base import File
from django.core.files.storage import Storage
from django.db import transaction
from django.db.models import Prefetch, Q, QuerySet
from django.utils import timezone

from chat import policy
from chat.attachments.checks import (
    INLINE_TYPES,
    MAGIC_NUMBERS,
    SNIFF_BYTES,
    check_pending,
    check_quota,
    check_size,
    clean_ids,
    content_problem,
    human_size,
    message_is_visible,
    normalise_type,
)
from chat.attachments.errors import AttachmentError, AttachmentNotFound
from chat.attachments.naming import metadata, new_key, safe_name
from chat.attachments.storage import (
    UploadInstructions,
    delete_objects,
    get_storage,
    s3_head_bytes,
    s3_object,
    upload_instructions,
    uses_s3,
)
from chat.attachments.thumbnails import store_thumbnail
from chat.models import Attachment, AttachmentState, Channel, Message
from chat.streams import StreamKey


def _require_can_send(actor, channel: Channel) -> None:
    access = policy.access_for(actor, channel)
    if not policy.can_view(access):
        raise AttachmentNotFound("Channel not found.")
    if not policy.can_send(access):
        raise AttachmentError("You cannot send files in this channel.")


def _own_upload(actor, attachment_id: int) -> Attachment:
    attachment = Attachment.objects.filter(pk=attachment_id, uploader=actor).first() if actor.is_authenticated else None
    if attachment is None:
        raise AttachmentNotFound()
    return attachment


def start_upload(
    *, actor, channel: Channel, name: str, size: int, content_type: str
) -> tuple[Attachment, UploadInstructions]:
    """Check the declared file, reserve it against the quota and say where to send the bytes."""
    _require_can_send(actor, channel)
    name = safe_name(name)
    content_type = normalise_type(content_type, name)
    check_size(name, size)
    with transaction.atomic():
        # One user's starts queue here, so two at once cannot both take the last place or quota.
        list(get_user_model().objects.select_for_update().filter(pk=actor.pk).values_list("pk"))
        check_pending(actor)
        check_quota(actor, name, size)
        attachment = Attachment.objects.create(
            uploader=actor,
            channel=channel,
            key=new_key(channel, name),
            name=name,
            size=size,
            content_type=content_type,
        )
    return attachment, upload_instructions(attachment)


def store_local_upload(*, actor, attachment_id: int, file: File | None) -> Attachment:
    """Local backend: check the bytes themselves (size, leading bytes), store them, make a thumbnail."""
    attachment = _own_upload(actor, attachment_id)
    if file is None:
        raise AttachmentError(f"No file arrived for “{attachment.name}”.")
    if attachment.state != AttachmentState.PENDING:
        raise AttachmentError(f"“{attachment.name}” has already been uploaded.")
    storage = get_storage()
    if uses_s3(storage):
        raise AttachmentError("Files go straight to the object store on this server.")
    # The declared size and type were only promises; count and sniff what actually came.
    size, head = 0, b""
    limit = min(attachment.size, settings.ATTACHMENTS_MAX_BYTES)
    for chunk in file.chunks():
        if len(head) < SNIFF_BYTES:
            head += chunk[: SNIFF_BYTES - len(head)]
        size += len(chunk)
        if size > limit:
            _discard(attachment)
            raise AttachmentError(f"“{attachment.name}” is larger than announced ({human_size(attachment.size)}).")
    problem = content_problem(attachment, size=size, content_type=attachment.content_type, head=head)
    if problem:
        _discard(attachment)
        raise AttachmentError(problem)
    file.seek(0)
    stored = storage.save(attachment.key, file)
    if stored != attachment.key:  # never expected: keys are fresh; but never point at another file
        storage.delete(stored)
        _discard(attachment)
        raise AttachmentError("The file could not be stored; please try again.")
    return _mark_uploaded(attachment, storage)


def complete_upload(*, actor, attachment_id: int) -> Attachment:
    """After the browser's upload: verify the object (S3) and make it attachable. Idempotent."""
    attachment = _own_upload(actor, attachment_id)
    if attachment.state == AttachmentState.UPLOADED:
        return attachment
    if attachment.state != AttachmentState.PENDING:
        raise AttachmentError(f"“{attachment.name}” has already been sent.")
    storage = get_storage()
    if not uses_s3(storage):
        raise AttachmentError(f"“{attachment.name}” has not been uploaded yet.")
    stored = s3_object(storage, attachment.key)
    if stored is None:
        raise AttachmentError(f"“{attachment.name}” has not arrived in storage yet.")
    size, stored_type = stored
    # The first bytes are enough to check the type, whatever the size of the file.
    sniff = s3_head_bytes(storage, attachment.key, SNIFF_BYTES) if attachment.content_type in MAGIC_NUMBERS else b""
    problem = content_problem(attachment, size=size, content_type=stored_type, head=sniff)
    if problem:
        _discard(attachment)
        raise AttachmentError(problem)
    return _mark_uploaded(attachment, storage)


def _mark_uploaded(attachment: Attachment, storage: Storage) -> Attachment:
    thumbnail_key = store_thumbnail(attachment, storage) if attachment.content_type in INLINE_TYPES else ""
    # Conditional: a cancel (or a second request) that got there first wins, and nothing is left over.
    updated = Attachment.objects.filter(pk=attachment.pk, state=AttachmentState.PENDING).update(
        state=AttachmentState.UPLOADED, thumbnail_key=thumbnail_key
    )
    if not updated:
        current = Attachment.objects.filter(pk=attachment.pk).first()
        if current is None:
            delete_objects([attachment.key, thumbnail_key])
            raise AttachmentNotFound()
        return current
    attachment.state, attachment.thumbnail_key = AttachmentState.UPLOADED, thumbnail_key
    return attachment


def cancel_upload(*, actor, attachment_id: int) -> None:
    """The person removed a file from the message box: it is never attached, its bytes go."""
    attachment = _own_upload(actor, attachment_id)
    if attachment.state not in (AttachmentState.PENDING, AttachmentState.UPLOADED):
        raise AttachmentError(f"“{attachment.name}” has already been sent.")
    _discard(attachment)


def _discard(attachment: Attachment) -> None:
    """Remove an unattached upload entirely: row (which frees its quota) and objects."""
    deleted, _ = Attachment.objects.filter(pk=attachment.pk, message__isnull=True).delete()
    if deleted:
        # At once, not on commit: refused or cancelled bytes are garbage whatever happens next.
        delete_objects([attachment.key, attachment.thumbnail_key])


def attachments_for_message(*, actor, channel: Channel, ids: Iterable[Any]) -> list[dict[str, Any]]:
    """The metadata of the files a message will carry: the actor's own checked, unsent uploads in `channel`.

    Call inside the send transaction, then ``attach`` once the message row exists.
    """
    wanted = clean_ids(ids)
    if not wanted:
        return []
    if len(wanted) > settings.ATTACHMENTS_MAX_FILES:
        raise AttachmentError(f"A message can carry at most {settings.ATTACHMENTS_MAX_FILES} files.")
    with transaction.atomic():
        rows = Attachment.objects.select_for_update().filter(
            pk__in=wanted, uploader=actor, channel=channel, state=AttachmentState.UPLOADED, message__isnull=True
        )
        found = {attachment.pk: attachment for attachment in rows}
    if len(found) != len(wanted):
        raise AttachmentError("A file is not ready to be sent: still uploading, removed, or already sent.")
    return [metadata(found[pk]) for pk in wanted]


def attach(*, actor, message: Message, ids: Iterable[Any]) -> int:
    """Mark the uploads as belonging to `message`; all of them or a refusal (the send then rolls back)."""
    wanted = clean_ids(ids)
    if not wanted:
        return 0
    updated = Attachment.objects.filter(
        pk__in=wanted,
        uploader=actor,
        channel_id=message.channel_id,
        state=AttachmentState.UPLOADED,
        message__isnull=True,
    ).update(state=AttachmentState.ATTACHED, message=message)
    if updated != len(wanted):
        raise AttachmentError("A file is not ready to be sent: still uploading, removed, or already sent.")
    return updated


def hide_for_redacted(*, message: Message) -> int:
    """A redacted message's files are shown to nobody any more (the objects stay, like the row)."""
    return Attachment.objects.filter(message=message, state=AttachmentState.ATTACHED).update(
        state=AttachmentState.HIDDEN
    )


def delete_for_message(*, message: Message) -> int:
    """Before a message is hard-deleted: its attachment rows go now, the objects once that commits."""
    rows = list(Attachment.objects.filter(message=message).values_list("key", "thumbnail_key"))
    Attachment.objects.filter(message=message).delete()
    keys = [key for pair in rows for key in pair]
    transaction.on_commit(lambda: delete_objects(keys))
    return len(rows)


def delete_for_channel(*, channel: Channel) -> int:
    """Before a channel is deleted (its rows cascade): the objects go once that commits."""
    rows = list(Attachment.objects.filter(channel=channel).values_list("key", "thumbnail_key"))
    keys = [key for pair in rows for key in pair]
    transaction.on_commit(lambda: delete_objects(keys))
    return len(rows)


def stale_uploads(*, older_than: timedelta) -> QuerySet[Attachment]:
    """Uploads never attached, and rows whose message was deleted without delete_for_message."""
    cutoff = timezone.now() - older_than
    never_attached = Q(state__in=[AttachmentState.PENDING, AttachmentState.UPLOADED])
    orphaned = Q(state__in=[AttachmentState.ATTACHED, AttachmentState.HIDDEN], message__isnull=True)
    return Attachment.objects.filter(never_attached | orphaned, created_at__lt=cutoff).order_by("pk")


def purge(attachments: Iterable[Attachment]) -> int:
    """Delete the objects, then the rows (a failure part-way leaves rows to retry, never lost objects)."""
    batch = list(attachments)
    delete_objects(key for attachment in batch for key in (attachment.key, attachment.thumbnail_key))
    deleted, _ = Attachment.objects.filter(pk__in=[attachment.pk for attachment in batch]).delete()
    return deleted


def readable_attachment(*, actor, attachment_id: int) -> Attachment:
    """An attachment `actor` may download: sent in a visible message of a stream they may read,
    by the rule of history and sync (in an elastic channel, the message's own sub-channel)."""
    attachment = (
        Attachment.objects.select_related("message", "channel")
        .filter(pk=attachment_id, state=AttachmentState.ATTACHED)
        .first()
    )
    if attachment is None or not message_is_visible(attachment.message):
        raise AttachmentNotFound()
    if not actor.is_authenticated:
        raise AttachmentNotFound()
    if not policy.can_read_stream(policy.access_for(actor, attachment.channel), _stream_of(attachment.message)):
        raise AttachmentNotFound()
    return attachment


def _stream_of(message: Message) -> StreamKey:
    if message.stream_id:
        return StreamKey.parse(message.stream_id)
    return StreamKey(message.channel_id, message.subchannel_id)  # a row written outside the services


def shown_prefetch() -> Prefetch:
    """For message lists: ``Message.objects.prefetch_related(attachments.shown_prefetch())``, then
    ``{% include "chat/_attachments.html" with attachments=m.shown_attachments %}``."""
    return Prefetch(
        "attachments",
        queryset=Attachment.objects.filter(state=AttachmentState.ATTACHED).order_by("pk"),
        to_attr="shown_attachments",
    )
