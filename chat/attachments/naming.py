"""File names and storage keys: one harmless path component, a fresh folder per upload.

Keys are ``attachments/<channel>/<uuid>/<safe-name>``: no overwrite, no path tricks.
"""

from __future__ import annotations

import posixpath
import re
import unicodedata
import uuid
from typing import Any

from chat.models import Attachment, Channel

KEY_PREFIX = "attachments"
# UTF-8 bytes: one path component stays well under the 255-byte file name limit of most disks
# and the key under S3's 1024 bytes.
MAX_NAME_BYTES = 150
MAX_EXTENSION_CHARS = 16
_UNSAFE_CHARACTERS = re.compile(r'[<>:"|?*]')
_SEPARATORS = re.compile(r"[/\\]")


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


def thumbnail_type(thumbnail_key: str) -> str:
    return "image/png" if thumbnail_key.endswith(".png") else "image/jpeg"


def metadata(attachment: Attachment) -> dict[str, Any]:
    """How an attachment is listed in a message's metadata."""
    return {
        "id": attachment.pk,
        "key": attachment.key,
        "name": attachment.name,
        "size": attachment.size,
        "type": attachment.content_type,
    }
