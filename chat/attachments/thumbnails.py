"""Previews of images: small, upright, without the original's metadata, and cheap to make."""

from __future__ import annotations

import io
from typing import IO

from django.core.files.base import ContentFile
from django.core.files.storage import Storage
from PIL import Image, ImageOps

from chat.attachments.naming import thumbnail_key_for
from chat.attachments.storage import get_storage
from chat.models import Attachment

THUMBNAIL_PX = 400
# Larger images get no thumbnail: decoding them would cost too much memory (decompression bombs).
THUMBNAIL_MAX_PIXELS = 50_000_000


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
