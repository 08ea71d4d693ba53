"""chat/attachments/thumbnails.py: upright, small, without the original's metadata."""

from __future__ import annotations

import io
import math

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


# Cost: a small file can describe a huge image (issue 6). Pillow keeps pixels outside the Python
# heap, so make_thumbnail runs in a fresh process and its high-water mark (VmHWM, reset just
# before the call) is what is measured.

MEGABYTE = 1024 * 1024
MEMORY_BUDGET = 100 * MEGABYTE
MEASURE = """
import io, json, sys, time
import django
from PIL import Image
django.setup()
from chat.attachments.thumbnails import make_thumbnail
def status(field):
    with open("/proc/self/status") as lines:
        return next(int(line.split()[1]) * 1024 for line in lines if line.startswith(field + ":"))
data = open(sys.argv[1], "rb").read()
before = status("VmRSS")
with open("/proc/self/clear_refs", "w") as clear:
    clear.write("5")  # the high-water mark starts again from here
started = time.perf_counter()
made = make_thumbnail(io.BytesIO(data))
seconds, peak = time.perf_counter() - started, status("VmHWM") - before
size = None if made is None else list(Image.open(io.BytesIO(made[0])).size)
print(json.dumps({"seconds": seconds, "peak": peak, "size": size}))
"""


def thumbnail_cost(data: bytes, tmp_path) -> dict:
    import json
    import os
    import subprocess
    import sys
    from pathlib import Path

    from django.conf import settings

    from tests.rig.components import require

    require(os.access("/proc/self/clear_refs", os.W_OK), "Linux's /proc/self/clear_refs (peak memory)")
    path = tmp_path / "image"
    path.write_bytes(data)
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "hobbies.settings", "PYTHONPATH": str(settings.BASE_DIR)}
    done = subprocess.run(
        [sys.executable, "-c", MEASURE, str(path)], capture_output=True, text=True, env=env, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1]) | {"file": Path(path).stat().st_size}


def huge_image(fmt: str, size: tuple[int, int], mode: str = "RGB", **options) -> bytes:
    """Mostly one colour, so a few hundred kilobytes describe tens of megapixels."""
    colour, corner = {"RGB": ((200, 30, 30), (0, 0, 255)), "RGBA": ((200, 30, 30, 255), (0, 0, 255, 128))}[mode]
    image = Image.new(mode, size, colour)
    image.paste(corner, (0, 0, size[0] // 4, size[1] // 4))
    out = io.BytesIO()
    image.save(out, format=fmt, **options)
    return out.getvalue()


@pytest.mark.parametrize(
    ("fmt", "mode", "options", "thumbnail_size"),
    [
        ("PNG", "RGB", {}, None),  # 49 megapixels to decode: over the cap, no thumbnail
        ("PNG", "RGBA", {}, None),
        ("WEBP", "RGB", {}, None),
        ("JPEG", "RGB", {}, (400, 400)),  # decoded at 1/8 scale (draft): cheap, so it gets one
        ("JPEG", "RGB", {"progressive": True}, None),  # libjpeg would keep every coefficient: 147 MB
    ],
)
def test_a_7000_pixel_square_image_costs_little_memory_and_time(tmp_path, fmt, mode, options, thumbnail_size):
    cost = thumbnail_cost(huge_image(fmt, (7000, 7000), mode, **options), tmp_path)
    assert cost["file"] < 1024 * 1024
    assert cost["size"] == (list(thumbnail_size) if thumbnail_size else None)
    assert cost["peak"] < MEMORY_BUDGET / 4, f"{cost['peak'] / MEGABYTE:.0f} MB"
    assert cost["seconds"] < 0.5


@pytest.mark.parametrize(
    ("fmt", "mode", "options", "fraction"),
    [
        ("PNG", "RGB", {}, 1),
        ("PNG", "RGBA", {}, 1),  # reduced a band at a time: no premultiplied copy of the whole
        ("WEBP", "RGBA", {}, 0.5),  # libwebp and Pillow hold four copies
        ("JPEG", "RGB", {"progressive": True}, 1),  # 4:2:0 coefficients: 1.5 samples a pixel
        ("JPEG", "RGB", {"progressive": True, "subsampling": 0}, 0.75),  # 4:4:4: 3 samples a pixel
    ],
)
def test_the_largest_images_allowed_get_a_thumbnail_within_100_mb(tmp_path, settings, fmt, mode, options, fraction):
    """Whatever the image, a thumbnail never costs more than about 100 MB: the default cap's worst cases."""
    side = int(math.isqrt(settings.ATTACHMENTS_THUMBNAIL_MAX_PIXELS) * fraction)
    cost = thumbnail_cost(huge_image(fmt, (side, side), mode, **options), tmp_path)
    assert cost["size"] == [400, 400]
    assert cost["peak"] < MEMORY_BUDGET, f"{cost['peak'] / MEGABYTE:.0f} MB"


def test_the_pixel_cap_is_a_setting_and_counts_what_is_decoded(settings, make_image):
    from chat.attachments.thumbnails import make_thumbnail

    settings.ATTACHMENTS_THUMBNAIL_MAX_PIXELS = 40 * 20
    assert make_thumbnail(io.BytesIO(make_image("PNG", (40, 20))))
    assert make_thumbnail(io.BytesIO(make_image("PNG", (41, 20)))) is None  # over the cap: no thumbnail
    # A JPEG decodes at 1/2, 1/4 or 1/8 of its size: this 1600×800 one as 800×400.
    settings.ATTACHMENTS_THUMBNAIL_MAX_PIXELS = 800 * 400
    data, extension = make_thumbnail(io.BytesIO(make_image("JPEG", (1600, 800))))
    with Image.open(io.BytesIO(data)) as thumbnail:
        assert (thumbnail.size, extension) == ((400, 200), ".jpg")


def test_jpegs_decoded_in_several_scans_count_every_coefficient():
    from chat.attachments.thumbnails import decoding_cost

    def cost(data: bytes) -> int:
        with Image.open(io.BytesIO(data)) as image:
            size = image.size
            image.draft(None, (800, 400))
            return decoding_cost(image, size)

    baseline = huge_image("JPEG", (3200, 1600))  # one interleaved scan, 4:2:0
    progressive = huge_image("JPEG", (3200, 1600), progressive=True)
    # The same file whose first scan claims one component of three: one scan per component.
    interleaved = b"\xff\xda\x00\x0c\x03\x01\x00\x02\x11\x03\x11"
    assert interleaved in baseline
    separate = baseline.replace(interleaved, b"\xff\xda\x00\x08\x01\x01\x00", 1)
    decoded = 800 * 400  # at 1/4 scale
    assert cost(baseline) == decoded
    assert cost(progressive) == cost(separate) == decoded + 3200 * 1600 * 3 // 4  # 1.5 samples of 2 bytes
