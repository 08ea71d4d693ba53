"""Attachments in a real browser: upload with progress, the other member sees and downloads."""

import io
import json
import uuid
from pathlib import Path

import pytest
from PIL import Image
from playwright.sync_api import expect

from tests.e2e.test_messaging import SEED, signed_in
from tests.rig.components import require
from tests.rig.s3 import S3Server, moto_available
from tests.rig.servers import LiveServer

pytestmark = pytest.mark.e2e
PDF = b"%PDF-1.4\n1 0 obj\n<<>>\nendobj\ntrailer\n<<>>\n%%EOF\n"


def png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (640, 480), (200, 120, 40)).save(buffer, "PNG")
    return buffer.getvalue()


@pytest.fixture(params=["local", "s3"])
def app_with_storage(request, tmp_path_factory):
    s3 = None
    env = {}
    if request.param == "s3":
        require(moto_available(), "moto's S3 server (moto[server])")
        s3 = S3Server().start()
        env = s3.app_env(s3.create_bucket(f"e2e-{uuid.uuid4().hex[:8]}"))
    server = LiveServer(tmp_path_factory.mktemp("attachments"), env).start()
    yield server
    server.stop()
    if s3 is not None:
        s3.stop()


def test_image_and_pdf_reach_the_other_member(app_with_storage, new_page, tmp_path):
    url = app_with_storage.url
    channel = json.loads(app_with_storage.manage("shell", "-c", SEED).stdout.strip().splitlines()[-1])["channel"]
    alice, bob = signed_in(new_page, url, "alice"), signed_in(new_page, url, "bob")
    for page in (alice, bob):
        page.goto(f"{url}/channels/{channel}/messages/")
        # A function: Playwright polls an expression with eval(), which the CSP forbids.
        page.wait_for_function("() => window.hobbiesLive && Object.keys(window.hobbiesLive.lastSeq).length > 0")

    alice.locator("#attach-files").set_input_files(
        [
            {"name": "meetup.png", "mimeType": "image/png", "buffer": png()},
            {"name": "timetable.pdf", "mimeType": "application/pdf", "buffer": PDF},
        ]
    )
    expect(alice.locator("#uploads .upload-percent")).to_have_text(["100 %", "100 %"])
    assert alice.locator("#uploads progress").evaluate_all("bars => bars.map(bar => bar.value)") == [100, 100]
    alice.get_by_placeholder("Type your message").fill("Photos and the timetable")
    alice.get_by_role("button", name="Send").click()
    expect(alice.locator("#uploads .upload-item")).to_have_count(0)

    # Bob sees the preview live and downloads the PDF.
    message = bob.locator(".msg", has_text="Photos and the timetable")
    preview = message.get_by_test_id("attachment-preview").locator("img")
    expect(preview).to_be_visible()
    bob.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=preview.element_handle())
    assert preview.evaluate("img => img.naturalWidth") <= 400
    with bob.expect_download() as download:
        message.get_by_test_id("attachment-chip").click()
    saved = tmp_path / "timetable.pdf"
    download.value.save_as(saved)
    assert Path(saved).read_bytes() == PDF
    assert download.value.suggested_filename == "timetable.pdf"

    # After a reload the files are still there, rendered by the server.
    bob.reload()
    chip = bob.locator(".msg", has_text="Photos and the timetable").get_by_test_id("attachment-chip")
    expect(chip).to_contain_text("timetable.pdf")
    expect(chip).to_contain_text(f"{len(PDF)} bytes · application/pdf")
