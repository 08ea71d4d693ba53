"""static/js/attachments.js in headless Chromium, on both backends: progress to 100 %, cancel, refusals.

A bare message box (chat/tests/attachment_test_urls.py) stands in for the chat page; the full
browser test (attach, send, the other member sees the preview live) belongs with the chat page.
"""

from __future__ import annotations

import time

import pytest
from django.conf import settings as django_settings
from django.db import connections
from django.test import Client

from chat.models import Attachment, AttachmentState
from chat.services import attachments
from tests.rig.browser import CHROMIUM, CHROMIUM_ARGS
from tests.rig.components import require_binary

pytestmark = pytest.mark.e2e

PDF = b"%PDF-1.4\n%%EOF\n"


@pytest.fixture(scope="module", autouse=True)
def _orm_beside_playwright():
    # Playwright's sync API keeps an event loop running in this thread; the ORM calls here (and
    # the database flush after each test) are still plain synchronous code, not coroutines.
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        yield


def wait_for(condition, timeout: float = 15):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if result := condition():
            return result
        time.sleep(0.1)
    raise AssertionError("condition not met in time")


@pytest.fixture
def chromium_page():
    """Its own Playwright per test, not the session's: a session-wide one keeps an event loop
    running in this thread, which would break the ORM in every (synchronous) test after it."""
    require_binary(CHROMIUM, "Debian's chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        context = browser.new_context(viewport={"width": 1000, "height": 700})
        context.set_default_timeout(15_000)
        yield context.new_page()
        browser.close()


@pytest.fixture
def box(live_server, settings, attachment_world, chromium_page):
    settings.ROOT_URLCONF = "chat.tests.attachment_box_urls"
    client = Client()
    client.force_login(attachment_world.owner)
    page = chromium_page
    page.context.add_cookies(
        [
            {
                "name": django_settings.SESSION_COOKIE_NAME,
                "value": client.cookies[django_settings.SESSION_COOKIE_NAME].value,
                "url": live_server.url,
            }
        ]
    )
    page.goto(f"{live_server.url}/test/attachments-box/?channel={attachment_world.channel.pk}")
    return page


def test_upload_progress_cancel_and_refusal(box, attachment_world, make_image, make_message):
    page = box
    page.set_input_files(
        "#files",
        files=[
            {"name": "photo.png", "mimeType": "image/png", "buffer": make_image("PNG", (900, 600))},
            {"name": "paper.pdf", "mimeType": "application/pdf", "buffer": PDF},
        ],
    )
    # Functions, not expressions: Playwright polls an expression with eval(), which the CSP forbids.
    page.wait_for_function("() => document.querySelectorAll('.upload-item.upload-done').length === 2")
    assert page.locator(".upload-percent").all_inner_texts() == ["100 %", "100 %"]
    assert page.locator("progress").evaluate_all("bars => bars.map(bar => bar.value)") == [100, 100]
    ids = page.evaluate("box.getAttachmentIds()")
    assert len(ids) == 2
    assert not page.evaluate("box.isBusy()")
    states = dict(Attachment.objects.filter(pk__in=ids).values_list("name", "state"))
    assert states == {"photo.png": AttachmentState.UPLOADED, "paper.pdf": AttachmentState.UPLOADED}

    # Remove the PDF: it goes from the list, from the ids and from the server.
    pdf_id = Attachment.objects.get(name="paper.pdf").pk
    page.get_by_role("button", name="Remove paper.pdf").click()
    wait_for(lambda: not Attachment.objects.filter(pk=pdf_id).exists())
    assert page.evaluate("box.getAttachmentIds()") == [pk for pk in ids if pk != pdf_id]

    # A text file posing as a PNG: a clear refusal next to the file, nothing kept.
    page.set_input_files("#files", files=[{"name": "cat.png", "mimeType": "image/png", "buffer": b"just text"}])
    error = page.locator(".upload-error .upload-error-text")
    error.wait_for()
    assert "is not a real image/png file" in error.inner_text()
    assert not Attachment.objects.filter(name="cat.png").exists()

    # What the message will show once sent: the image preview loads through the access check.
    [photo_id] = page.evaluate("box.getAttachmentIds()")
    message = make_message(attachment_world.channel, attachment_world.owner)
    listed = attachments.attachments_for_message(actor=attachment_world.owner, channel=message.channel, ids=[photo_id])
    attachments.attach(actor=attachment_world.owner, message=message, ids=[photo_id])
    page.evaluate("items => document.getElementById('rendered').append(Attachments.render(items))", listed)
    page.wait_for_function(
        "() => document.querySelector('#rendered img') && document.querySelector('#rendered img').complete"
    )
    assert page.evaluate("document.querySelector('#rendered img').naturalWidth") == 400
    page.evaluate("box.clear()")
    assert page.locator(".upload-item").count() == 0
    # The ORM calls above ran in Playwright's context, so their connection is this context's own:
    # closed here, or it would keep PostgreSQL from dropping the test database at the end.
    connections.close_all()
