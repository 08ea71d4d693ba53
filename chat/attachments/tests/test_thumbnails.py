"""chat/attachments/thumbnails.py: upright, small, without the original's metadata."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from chat.attachments import storage
from chat.models import AttachmentState

PDF = b"%PDF-1.4\n1 0 obj << >> endobj\ntrailer << >>\n%%EOF\n"
KEY_PATTERN = r"attachments/{channel}/[0-9a-f]{{32}}/{name}"


def stored(key: str) -> bool:
    return bool(key) and storage.get_storage().exists(key)


def read(key: str) -> bytes:
    with storage.open_stored(key) as file:
        return file.read()


def test_thumbnail_applies_orientation_and_strips_exif(attachment_world, upload_file, make_image):
    world = attachment_world
    # 60 wide, 20 high, stored with "rotate 90° clockwise to display" (orientation 6).
    data = make_image("JPEG", (60, 20), orientation=6)
    with Image.open(io.BytesIO(data)) as original:
        assert original.getexif()[0x0112] == 6
    attachment = upload_file(world.owner, world.channel, "photo.jpg", data, "image/jpeg")
    assert attachment.thumbnail_key == attachment.key.rsplit("/", 1)[0] + "/.thumbnail.jpg"
    with Image.open(io.BytesIO(read(attachment.thumbnail_key))) as thumbnail:
        assert thumbnail.format == "JPEG"
        assert thumbnail.size == (20, 60)  # upright
        assert not thumbnail.getexif()  # no orientation, no camera make, no location
        assert "exif" not in thumbnail.info
        red, green, blue = thumbnail.getpixel((18, 2))  # the blue corner turned to the top right
        assert blue > 150 and red < 100


@pytest.mark.parametrize(
    ("fmt", "content_type", "size", "mode", "thumbnail_size", "extension"),
    [
        ("PNG", "image/png", (1200, 600), "RGB", (400, 200), ".jpg"),
        ("PNG", "image/png", (300, 900), "RGBA", (133, 400), ".png"),  # transparency kept
        ("GIF", "image/gif", (50, 50), "RGB", (50, 50), ".jpg"),  # small images are not enlarged
        ("WEBP", "image/webp", (800, 800), "RGB", (400, 400), ".jpg"),
    ],
)
def test_thumbnail_sizes_and_formats(
    attachment_world, upload_file, make_image, fmt, content_type, size, mode, thumbnail_size, extension
):
    world = attachment_world
    name = f"image.{fmt.lower()}"
    attachment = upload_file(world.owner, world.channel, name, make_image(fmt, size, mode=mode), content_type)
    assert attachment.thumbnail_key.endswith(extension)
    with Image.open(io.BytesIO(read(attachment.thumbnail_key))) as thumbnail:
        assert thumbnail.size == thumbnail_size


def test_no_thumbnail_for_other_files_or_undecodable_images(attachment_world, upload_file):
    world = attachment_world
    assert upload_file(world.owner, world.channel, "a.pdf", PDF, "application/pdf").thumbnail_key == ""
    broken_png = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64  # right magic number, no image behind it
    attachment = upload_file(world.owner, world.channel, "broken.png", broken_png, "image/png")
    assert attachment.state == AttachmentState.UPLOADED
    assert attachment.thumbnail_key == ""
