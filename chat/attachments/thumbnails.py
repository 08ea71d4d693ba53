"""Previews of images: small, upright, without the original's metadata, and cheap to make.

A few hundred kilobytes can describe 49 megapixels, and decoders hold what they decode in memory.
So an image is decoded as small as its format allows (JPEG at 1/2, 1/4 or 1/8 scale: Pillow's
draft mode), reduced by whole factors before the final resize, rotated only once small, and one
whose decoding would cost more than ATTACHMENTS_THUMBNAIL_MAX_PIXELS pixels (``decoding_cost``)
gets no thumbnail at all: a thumbnail costs about 4 bytes a pixel of that cap, whatever the image.
"""

from __future__ import annotations

import io
import math
from typing import IO

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import Storage
from PIL import Image, JpegImagePlugin

from chat.attachments.naming import thumbnail_key_for
from chat.attachments.storage import get_storage
from chat.models import Attachment

THUMBNAIL_PX = 400
# The types shown inline (checks.INLINE_TYPES): nothing else is ever handed to a decoder.
FORMATS = ("JPEG", "PNG", "GIF", "WEBP")
# Pillow's thumbnail() reduces by whole factors down to twice the final size, then resamples.
REDUCING_GAP = 2
# Images with transparency are reduced this many rows at a time (see _reduce_with_alpha).
BAND_ROWS = 64
# Pillow keeps 4 bytes a pixel for every mode met here. WebP: libwebp's canvas and previous
# canvas, Pillow's copy of the frame, then the image (measured: 15.5 bytes a pixel).
WEBP_COPIES = 4
# JPEG coefficient samples per pixel of a 3-component file, by Pillow's subsampling number.
JPEG_SAMPLES = {0: 3, 1: 2, 2: 1.5}  # 4:4:4, 4:2:2, 4:2:0
ORIENTATION_TAG = 0x0112
# What EXIF orientation asks for to show the image upright (as ImageOps.exif_transpose does).
UPRIGHT = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}


def _decode_size(width: int, height: int) -> tuple[int, int]:
    """Twice the thumbnail's size: the least a format that decodes at a reduced scale needs to deliver."""
    scale = min(THUMBNAIL_PX / width, THUMBNAIL_PX / height, 1)
    return max(1, round(width * scale)) * REDUCING_GAP, max(1, round(height * scale)) * REDUCING_GAP


def _jpeg_single_scan(image: Image.Image) -> bool:
    """Whether libjpeg decodes the file in one pass: sequential, its first scan carrying every
    component. Otherwise (progressive, or one scan per component) it keeps every DCT coefficient
    of the full-size image, whatever the draft scale. Pillow stops reading right after that scan's
    header (SOS: marker, length 6 + 2n, n components, 2n + 3 bytes), so it is read back from there."""
    if image.info.get("progressive") or image.fp is None:
        return False
    end = image.fp.tell()
    try:
        for count in range(1, 5):
            image.fp.seek(end - 8 - 2 * count)
            header = image.fp.read(5)
            if header[:4] == b"\xff\xda" + (6 + 2 * count).to_bytes(2, "big") and header[4] == count:
                return count == image.layers
        return False
    finally:
        image.fp.seek(end)


def decoding_cost(image: Image.Image, original_size: tuple[int, int]) -> int:
    """What decoding an opened (and drafted) image holds in memory, in pixels of 4 bytes."""
    cost = image.width * image.height
    if image.format == "WEBP":
        return cost * WEBP_COPIES
    if image.format == "JPEG" and not _jpeg_single_scan(image):
        samples = JPEG_SAMPLES.get(JpegImagePlugin.get_sampling(image), image.layers)
        cost += math.ceil(original_size[0] * original_size[1] * samples * 2 / 4)  # 2 bytes a coefficient
    return cost


def _reduce_with_alpha(image: Image.Image) -> Image.Image:
    """reduce() an RGBA or LA image towards twice the thumbnail's size, one band of rows at a time.

    Pillow premultiplies the alpha of a whole copy before reducing (4 more bytes a pixel); a band
    at a time keeps that copy small. Other modes are reduced by thumbnail() itself, without a copy.
    """
    target_width, target_height = _decode_size(image.width, image.height)
    factor = min(image.width // target_width, image.height // target_height)
    if image.mode not in {"RGBA", "LA"} or factor < 2:
        return image
    premultiplied = {"RGBA": "RGBa", "LA": "La"}[image.mode]
    reduced = Image.new(image.mode, (-(-image.width // factor), -(-image.height // factor)))
    rows = factor * max(1, BAND_ROWS // factor)
    for top in range(0, image.height, rows):
        band = image.crop((0, top, image.width, min(top + rows, image.height))).convert(premultiplied)
        reduced.paste(band.reduce(factor).convert(image.mode), (0, top // factor))
    return reduced


def make_thumbnail(source: IO[bytes], *, max_pixels: int | None = None) -> tuple[bytes, str] | None:
    """A preview at most THUMBNAIL_PX on a side, upright (EXIF orientation applied), without EXIF.

    Returns (bytes, extension), or None when the image cannot or should not be decoded: its
    decoding would cost more than `max_pixels` (default ATTACHMENTS_THUMBNAIL_MAX_PIXELS).
    """
    limit = settings.ATTACHMENTS_THUMBNAIL_MAX_PIXELS if max_pixels is None else max_pixels
    try:
        with Image.open(source, formats=FORMATS) as image:
            # Only the headers have been read so far: decide before any pixel is decoded.
            original_size = image.size
            image.draft(None, _decode_size(image.width, image.height))
            if decoding_cost(image, original_size) > limit:
                return None
            orientation = image.getexif().get(ORIENTATION_TAG)
            image.load()
            small = _reduce_with_alpha(image)
            small.thumbnail((THUMBNAIL_PX, THUMBNAIL_PX), reducing_gap=REDUCING_GAP)
            # Rotated once small; the orientation tag and the rest of the EXIF stay behind.
            upright = small.transpose(UPRIGHT[orientation]) if orientation in UPRIGHT else small
            has_alpha = upright.mode in {"RGBA", "LA", "PA"} or "transparency" in image.info
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
