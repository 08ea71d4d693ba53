"""What may be attached: allowed types, leading bytes, sizes and the daily quota.

Every limit is checked here, on both storage backends: S3 policies pin key, type and size too,
but S3-compatible stores (and moto in the tests) may not enforce them, so nothing is trusted
until the bytes that arrived have been compared with what was declared (``content_problem``).
"""

from __future__ import annotations

import posixpath
from collections.abc import Iterable
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db.models import Sum
from django.template.defaultfilters import filesizeformat
from django.utils import timezone

from chat.attachments.errors import AttachmentError
from chat.models import Attachment, AttachmentState, Message

SNIFF_BYTES = 32
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


def is_inline(content_type: str) -> bool:
    return content_type in INLINE_TYPES


def message_is_visible(message: Message | None) -> bool:
    """Whether a message's attachments may be shown: it exists and is neither redacted nor deleted."""
    if message is None:
        return False
    return getattr(message, "redacted_at", None) is None and getattr(message, "deleted_at", None) is None


def human_size(size: int) -> str:
    return str(filesizeformat(size)).replace("\xa0", " ")


def check_size(name: str, size: int) -> None:
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


def check_quota(user, name: str, size: int) -> None:
    quota = settings.ATTACHMENTS_DAILY_QUOTA_BYTES
    used = used_quota(user)
    if used + size > quota:
        left = human_size(max(quota - used, 0))
        raise AttachmentError(
            f"“{name}” does not fit in your daily upload allowance of {human_size(quota)} ({left} left today)."
        )


def check_pending(user) -> None:
    """At most ATTACHMENTS_MAX_PENDING_UPLOADS started and neither finished nor removed. Those
    started over a day ago no longer count: the browser gave up on them and cleanup deletes them."""
    limit = settings.ATTACHMENTS_MAX_PENDING_UPLOADS
    since = timezone.now() - timedelta(days=1)
    pending = Attachment.objects.filter(uploader=user, state=AttachmentState.PENDING, created_at__gte=since)
    if pending.count() >= limit:
        raise AttachmentError(
            f"You have {limit} uploads under way, the most at once: finish or remove one before adding another."
        )


def content_problem(attachment: Attachment, *, size: int, content_type: str, head: bytes) -> str | None:
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


def clean_ids(ids: Iterable[Any]) -> list[int]:
    cleaned: list[int] = []
    for raw in ids:
        try:
            value = int(raw)
        except (TypeError, ValueError):
            raise AttachmentError("That attachment is not valid.") from None
        if value not in cleaned:
            cleaned.append(value)
    return cleaned
