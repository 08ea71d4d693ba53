"""Attachments: the one module that owns keys, limits, storage, pre-signing and verification.

Views and the messaging service call the functions below; nothing else touches the
"attachments" storage (``STORAGES["attachments"]``: FileSystemStorage under MEDIA_ROOT, or
django-storages' S3Storage when ``ATTACHMENTS_BACKEND=s3``).

Life of an upload (``Attachment.state``):

    start_upload  -> PENDING   a row, a unique key, the upload instructions (quota reserved)
    store_local_upload (local) / complete_upload (S3, verifies the object)
                  -> UPLOADED  the bytes are in storage and checked; thumbnail made for images
    attach        -> ATTACHED  listed in a message's metadata (inside the send transaction)
    hide_for_redacted -> HIDDEN; delete_for_message / cancel_upload / cleanup -> row and objects gone

Every limit is enforced here, on both backends: S3 policies pin key, type and size too, but
S3-compatible stores (and moto in the tests) may not enforce them, so nothing is trusted until
``complete_upload`` has looked at the object itself.
"""

from __future__ import annotations

import io
import posixpath
import re
import unicodedata
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import IO, Any

from botocore.exceptions import ClientError
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.files.base import ContentFile, File
from django.core.files.storage import Storage, storages
from django.db import transaction
from django.db.models import Prefetch, Q, QuerySet, Sum
from django.http import Http404
from django.template.defaultfilters import filesizeformat
from django.urls import reverse
from django.utils import timezone
from django.utils.http import content_disposition_header
from PIL import Image, ImageOps
from storages.backends.s3 import S3Storage

from chat import policy
from chat.exceptions import ChatError
from chat.models import Attachment, AttachmentState, Channel, Message

STORAGE_ALIAS = "attachments"
KEY_PREFIX = "attachments"
# UTF-8 bytes: one path component stays well under the 255-byte file name limit of most disks
# and the key under S3's 1024 bytes.
MAX_NAME_BYTES = 150
MAX_EXTENSION_CHARS = 16
THUMBNAIL_PX = 400
# Larger images get no thumbnail: decoding them would cost too much memory (decompression bombs).
THUMBNAIL_MAX_PIXELS = 50_000_000
SNIFF_BYTES = 32
UPLOAD_FIELD = "file"

# Only raster images are ever shown inline; everything else downloads.
INLINE_TYPES = frozenset({"image/jpeg", "image/png", "image/gif", "image/webp"})
MAGIC_NUMBERS: dict[str, tuple[bytes, ...]] = {
    "image/jpeg": (b"\xff\xd8\xff",),
    "image/png": (b"\x89PNG\r\n\x1a\n",),
    "image/gif": (b"GIF87a", b"GIF89a"),
    "image/webp": (b"RIFF",),  # and b"WEBP" at offset 8, checked in sniff_matches
    "application/pdf": (b"%PDF-",),
}
# The type a file name implies, for browsers that send no type (and to catch a renamed image).
EXTENSION_TYPES = {
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".png": "image/png",
    ".gif": "image/gif",
    ".webp": "image/webp",
    ".pdf": "application/pdf",
    ".txt": "text/plain",
    ".log": "text/plain",
    ".csv": "text/csv",
    ".md": "text/markdown",
    ".rtf": "application/rtf",
    ".doc": "application/msword",
    ".xls": "application/vnd.ms-excel",
    ".ppt": "application/vnd.ms-powerpoint",
    ".docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ".pptx": "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    ".odt": "application/vnd.oasis.opendocument.text",
    ".ods": "application/vnd.oasis.opendocument.spreadsheet",
    ".odp": "application/vnd.oasis.opendocument.presentation",
    ".zip": "application/zip",
    ".gz": "application/gzip",
    ".tgz": "application/gzip",
    ".tar": "application/x-tar",
    ".7z": "application/x-7z-compressed",
}
# Spellings browsers and operating systems use for the same types.
TYPE_ALIASES = {
    "image/jpg": "image/jpeg",
    "image/pjpeg": "image/jpeg",
    "application/x-pdf": "application/pdf",
    "text/x-markdown": "text/markdown",
    "application/x-zip-compressed": "application/zip",
    "application/x-gzip": "application/gzip",
    "application/x-gtar": "application/x-tar",
}
_UNSAFE_CHARACTERS = re.compile(r'[<>:"|?*]')
_SEPARATORS = re.compile(r"[/\\]")


class AttachmentError(ChatError):
    """A refusal; its text is shown to the person as it is."""

    default_message = "That file cannot be attached."


class AttachmentNotFound(AttachmentError, Http404):
    """The same answer for a missing attachment and one the person may not see."""

    default_message = "Attachment not found."


@dataclass(frozen=True)
class UploadInstructions:
    """How the browser sends the bytes: a multipart POST of ``fields`` then the file to ``url``."""

    backend: str  # "local" or "s3"
    url: str
    fields: dict[str, str] = field(default_factory=dict)
    file_field: str = UPLOAD_FIELD

    def as_json(self) -> dict[str, Any]:
        return {"backend": self.backend, "url": self.url, "fields": self.fields, "fileField": self.file_field}


# Storage


def get_storage() -> Storage:
    return storages[STORAGE_ALIAS]


def uses_s3(storage: Storage | None = None) -> bool:
    return isinstance(storage or get_storage(), S3Storage)


def _s3_client(storage: S3Storage):
    # The storage's own client: one place for region, endpoint and credentials.
    return storage.connection.meta.client


# Names, keys and types


def safe_name(name: str) -> str:
    """A file name that is one harmless path component: Unicode kept, tricks removed, length capped."""
    name = unicodedata.normalize("NFC", name or "")
    name = _SEPARATORS.split(name)[-1]  # the base name: "../../etc/passwd" -> "passwd"
    # Control and format characters (NUL, newlines, right-to-left overrides that disguise ".exe").
    name = "".join(char for char in name if not unicodedata.category(char).startswith("C"))
    name = _UNSAFE_CHARACTERS.sub("_", name)
    name = " ".join(name.split())
    name = name.lstrip(". ").rstrip(". ")  # no hidden files, no "..", no Windows-invalid endings
    return _cap_length(name) or "file"


def _cap_length(name: str) -> str:
    if len(name.encode()) <= MAX_NAME_BYTES:
        return name
    stem, extension = posixpath.splitext(name)
    if len(extension) > MAX_EXTENSION_CHARS:
        stem, extension = name, ""
    budget = MAX_NAME_BYTES - len(extension.encode())
    stem = stem.encode()[:budget].decode(errors="ignore").rstrip(". ")
    return f"{stem or 'file'}{extension}"


def new_key(channel: Channel, name: str) -> str:
    # A fresh UUID folder per upload: two uploads never share a key, whatever their names.
    return f"{KEY_PREFIX}/{channel.pk}/{uuid.uuid4().hex}/{name}"


def thumbnail_key_for(key: str, extension: str) -> str:
    # Beside the original. The leading dot makes it a name safe_name() can never produce.
    return posixpath.join(posixpath.dirname(key), f".thumbnail{extension}")


def normalise_type(declared: str, name: str) -> str:
    """The allowed type of a file, from what the browser declared and the file's name, or a refusal."""
    content_type = (declared or "").split(";")[0].strip().lower()
    content_type = TYPE_ALIASES.get(content_type, content_type)
    implied = EXTENSION_TYPES.get(posixpath.splitext(name)[1].lower())
    if content_type in {"", "application/octet-stream"} and implied:
        content_type = implied
    if content_type not in settings.ATTACHMENTS_ALLOWED_TYPES:
        raise AttachmentError(f"“{name}”: files of this type ({content_type or 'unknown'}) cannot be attached.")
    # An image must be named as what it is, so its bytes are always checked against its type.
    if (content_type in INLINE_TYPES or implied in INLINE_TYPES) and implied != content_type:
        raise AttachmentError(f"“{name}”: the file name does not match its type ({content_type}).")
    return content_type


def sniff_matches(content_type: str, head: bytes) -> bool:
    """Whether the leading bytes agree with the type (checked for images and PDF)."""
    signatures = MAGIC_NUMBERS.get(content_type)
    if signatures is None:
        return True
    if content_type == "image/webp" and head[8:12] != b"WEBP":
        return False
    return head.startswith(signatures)


def message_is_visible(message: Message | None) -> bool:
    """Whether a message's attachments may be shown: it exists and is neither redacted nor deleted."""
    if message is None:
        return False
    return getattr(message, "redacted_at", None) is None and getattr(message, "deleted_at", None) is None


def human_size(size: int) -> str:
    return str(filesizeformat(size)).replace("\xa0", " ")


# Limits


def _check_size(name: str, size: int) -> None:
    if size <= 0:
        raise AttachmentError(f"“{name}” is empty.")
    if size > settings.ATTACHMENTS_MAX_BYTES:
        limit = human_size(settings.ATTACHMENTS_MAX_BYTES)
        raise AttachmentError(f"“{name}” is {human_size(size)}; files can be at most {limit}.")


def used_quota(user) -> int:
    """Bytes `user` started uploading in the last 24 hours (pending ones count: they are reserved)."""
    since = timezone.now() - timedelta(days=1)
    total = Attachment.objects.filter(uploader=user, created_at__gte=since).aggregate(total=Sum("size"))["total"]
    return total or 0


def _check_quota(user, name: str, size: int) -> None:
    quota = settings.ATTACHMENTS_DAILY_QUOTA_BYTES
    used = used_quota(user)
    if used + size > quota:
        left = human_size(max(quota - used, 0))
        raise AttachmentError(
            f"“{name}” does not fit in your daily upload allowance of {human_size(quota)} ({left} left today)."
        )


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


# Uploading


def start_upload(
    *, actor, channel: Channel, name: str, size: int, content_type: str
) -> tuple[Attachment, UploadInstructions]:
    """Check the declared file, reserve it against the quota and say where to send the bytes."""
    _require_can_send(actor, channel)
    name = safe_name(name)
    content_type = normalise_type(content_type, name)
    _check_size(name, size)
    with transaction.atomic():
        # One user's starts queue here, so two at once cannot both fit in the last of the quota.
        list(get_user_model().objects.select_for_update().filter(pk=actor.pk).values_list("pk"))
        _check_quota(actor, name, size)
        attachment = Attachment.objects.create(
            uploader=actor,
            channel=channel,
            key=new_key(channel, name),
            name=name,
            size=size,
            content_type=content_type,
        )
    return attachment, upload_instructions(attachment)


def upload_instructions(attachment: Attachment) -> UploadInstructions:
    storage = get_storage()
    if not uses_s3(storage):
        return UploadInstructions(backend="local", url=reverse("chat-attachment-upload", args=[attachment.pk]))
    # The policy pins the exact key (boto3 adds it), the type and the size; the object still
    # gets verified in complete_upload, because S3-compatible stores may not enforce policies.
    post = _s3_client(storage).generate_presigned_post(
        Bucket=storage.bucket_name,
        Key=attachment.key,
        Fields={"Content-Type": attachment.content_type},
        Conditions=[
            {"Content-Type": attachment.content_type},
            ["content-length-range", attachment.size, attachment.size],
        ],
        ExpiresIn=settings.ATTACHMENTS_UPLOAD_EXPIRES,
    )
    return UploadInstructions(backend="s3", url=post["url"], fields=post["fields"])


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
    problem = _content_problem(attachment, size=size, content_type=attachment.content_type, head=head)
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
    client = _s3_client(storage)
    try:
        head = client.head_object(Bucket=storage.bucket_name, Key=attachment.key)
    except ClientError as error:
        if error.response.get("ResponseMetadata", {}).get("HTTPStatusCode") == 404:
            raise AttachmentError(f"“{attachment.name}” has not arrived in storage yet.") from None
        raise
    stored_type = (head.get("ContentType") or "").split(";")[0].strip().lower()
    sniff = b""
    if attachment.content_type in MAGIC_NUMBERS:
        # A ranged GET: the first bytes are enough, whatever the size of the file.
        sniff = client.get_object(Bucket=storage.bucket_name, Key=attachment.key, Range=f"bytes=0-{SNIFF_BYTES - 1}")[
            "Body"
        ].read()
    problem = _content_problem(attachment, size=head["ContentLength"], content_type=stored_type, head=sniff)
    if problem:
        _discard(attachment)
        raise AttachmentError(problem)
    return _mark_uploaded(attachment, storage)


def _content_problem(attachment: Attachment, *, size: int, content_type: str, head: bytes) -> str | None:
    """What is wrong with the bytes that arrived, compared with what was declared at start."""
    name = attachment.name
    if size != attachment.size:
        return f"“{name}” is {human_size(size)}, not the {human_size(attachment.size)} announced; it was not kept."
    if content_type != attachment.content_type:
        return (
            f"“{name}” arrived as {content_type or 'an unknown type'}, not {attachment.content_type}; it was not kept."
        )
    if not sniff_matches(attachment.content_type, head):
        return f"“{name}” is not a real {attachment.content_type} file; it was not kept."
    return None


def _mark_uploaded(attachment: Attachment, storage: Storage) -> Attachment:
    thumbnail_key = store_thumbnail(attachment, storage) if attachment.content_type in INLINE_TYPES else ""
    # Conditional: a cancel (or a second request) that got there first wins, and nothing is left over.
    updated = Attachment.objects.filter(pk=attachment.pk, state=AttachmentState.PENDING).update(
        state=AttachmentState.UPLOADED, thumbnail_key=thumbnail_key
    )
    if not updated:
        current = Attachment.objects.filter(pk=attachment.pk).first()
        if current is None:
            _delete_objects([attachment.key, thumbnail_key])
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
        _delete_objects([attachment.key, attachment.thumbnail_key])


# Thumbnails


def make_thumbnail(source: IO[bytes]) -> tuple[bytes, str] | None:
    """A preview at most THUMBNAIL_PX on a side, upright (EXIF orientation applied), without EXIF.

    Returns (bytes, extension), or None when the image cannot or should not be decoded.
    """
    try:
        with Image.open(source) as image:
            if image.width * image.height > THUMBNAIL_MAX_PIXELS:
                return None
            upright = ImageOps.exif_transpose(image)  # a new image; the orientation tag is consumed
            upright.thumbnail((THUMBNAIL_PX, THUMBNAIL_PX))
            has_alpha = upright.mode in {"RGBA", "LA", "PA"} or "transparency" in upright.info
            converted = upright.convert("RGBA" if has_alpha else "RGB")
            # Nothing of the original's metadata travels: no EXIF (location!), no comments.
            clean = Image.new(converted.mode, converted.size)
            clean.paste(converted)
            out = io.BytesIO()
            if has_alpha:
                clean.save(out, format="PNG", optimize=True)
                return out.getvalue(), ".png"
            clean.save(out, format="JPEG", quality=85, optimize=True)
            return out.getvalue(), ".jpg"
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError):
        return None


def store_thumbnail(attachment: Attachment, storage: Storage | None = None) -> str:
    """Make and store the thumbnail of an image attachment; its key, or "" when there is none."""
    storage = storage or get_storage()
    with storage.open(attachment.key, "rb") as source:
        made = make_thumbnail(source)
    if made is None:
        return ""
    data, extension = made
    return storage.save(thumbnail_key_for(attachment.key, extension), ContentFile(data))


# Sending with a message (called by the messaging service inside its transaction)


def _clean_ids(ids: Iterable[Any]) -> list[int]:
    cleaned: list[int] = []
    for raw in ids:
        try:
            value = int(raw)
        except (TypeError, ValueError):
            raise AttachmentError("That attachment is not valid.") from None
        if value not in cleaned:
            cleaned.append(value)
    return cleaned


def metadata(attachment: Attachment) -> dict[str, Any]:
    """How an attachment is listed in a message's metadata."""
    return {
        "id": attachment.pk,
        "key": attachment.key,
        "name": attachment.name,
        "size": attachment.size,
        "type": attachment.content_type,
    }


def attachments_for_message(*, actor, channel: Channel, ids: Iterable[Any]) -> list[dict[str, Any]]:
    """The metadata of the files a message will carry: the actor's own checked, unsent uploads in `channel`.

    Call inside the send transaction, then ``attach`` once the message row exists.
    """
    wanted = _clean_ids(ids)
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
    wanted = _clean_ids(ids)
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
    transaction.on_commit(lambda: _delete_objects(keys))
    return len(rows)


def delete_for_channel(*, channel: Channel) -> int:
    """Before a channel is deleted (its rows cascade): the objects go once that commits."""
    rows = list(Attachment.objects.filter(channel=channel).values_list("key", "thumbnail_key"))
    keys = [key for pair in rows for key in pair]
    transaction.on_commit(lambda: _delete_objects(keys))
    return len(rows)


def _delete_objects(keys: Iterable[str]) -> None:
    storage = get_storage()
    for key in keys:
        if key:
            storage.delete(key)  # a missing object is not an error, on either backend


# Cleanup


def stale_uploads(*, older_than: timedelta) -> QuerySet[Attachment]:
    """Uploads never attached, and rows whose message was deleted without delete_for_message."""
    cutoff = timezone.now() - older_than
    never_attached = Q(state__in=[AttachmentState.PENDING, AttachmentState.UPLOADED])
    orphaned = Q(state__in=[AttachmentState.ATTACHED, AttachmentState.HIDDEN], message__isnull=True)
    return Attachment.objects.filter(never_attached | orphaned, created_at__lt=cutoff).order_by("pk")


def purge(attachments: Iterable[Attachment]) -> int:
    """Delete the objects, then the rows (a failure part-way leaves rows to retry, never lost objects)."""
    batch = list(attachments)
    _delete_objects(key for attachment in batch for key in (attachment.key, attachment.thumbnail_key))
    deleted, _ = Attachment.objects.filter(pk__in=[attachment.pk for attachment in batch]).delete()
    return deleted


# Reading


def readable_attachment(*, actor, attachment_id: int) -> Attachment:
    """An attachment `actor` may download: sent in a visible message of a channel they may read."""
    attachment = (
        Attachment.objects.select_related("message", "channel")
        .filter(pk=attachment_id, state=AttachmentState.ATTACHED)
        .first()
    )
    if attachment is None or not message_is_visible(attachment.message):
        raise AttachmentNotFound()
    if not actor.is_authenticated or not policy.can_view(policy.access_for(actor, attachment.channel)):
        raise AttachmentNotFound()
    return attachment


def shown_prefetch() -> Prefetch:
    """For message lists: ``Message.objects.prefetch_related(attachments.shown_prefetch())``, then
    ``{% include "chat/_attachments.html" with attachments=m.shown_attachments %}``."""
    return Prefetch(
        "attachments",
        queryset=Attachment.objects.filter(state=AttachmentState.ATTACHED).order_by("pk"),
        to_attr="shown_attachments",
    )


def is_inline(content_type: str) -> bool:
    return content_type in INLINE_TYPES


def thumbnail_type(thumbnail_key: str) -> str:
    return "image/png" if thumbnail_key.endswith(".png") else "image/jpeg"


def presigned_download_url(attachment: Attachment, *, thumbnail: bool = False) -> str:
    """S3: a GET link valid ATTACHMENTS_DOWNLOAD_EXPIRES seconds (at most 5 minutes).

    The response headers are part of the signature, so the store serves the file as a download
    (inline only for raster images) with the type we checked, whatever the object says.
    """
    storage = get_storage()
    if thumbnail:
        key, content_type = attachment.thumbnail_key, thumbnail_type(attachment.thumbnail_key)
    else:
        key, content_type = attachment.key, attachment.content_type
    disposition = content_disposition_header(not is_inline(content_type), attachment.name)
    return storage.url(
        key,
        parameters={"ResponseContentDisposition": disposition, "ResponseContentType": content_type},
        expire=min(settings.ATTACHMENTS_DOWNLOAD_EXPIRES, 300),
    )


def open_stored(key: str) -> File:
    return get_storage().open(key, "rb")
