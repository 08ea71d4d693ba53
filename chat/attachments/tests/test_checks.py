"""chat/attachments/checks.py: allowed types, leading bytes, visibility."""

from __future__ import annotations

import pytest
from django.utils import timezone

from chat.attachments import checks
from chat.attachments.errors import AttachmentError

PDF = b"%PDF-1.4\n1 0 obj << >> endobj\ntrailer << >>\n%%EOF\n"
KEY_PATTERN = r"attachments/{channel}/[0-9a-f]{{32}}/{name}"


@pytest.mark.parametrize(
    ("name", "declared", "expected"),
    [
        ("photo.png", "image/png", "image/png"),
        ("photo.JPG", "image/jpg", "image/jpeg"),
        ("photo.png", "", "image/png"),
        ("notes.md", "application/octet-stream", "text/markdown"),
        ("data.csv", "text/csv; charset=utf-8", "text/csv"),
        ("paper.pdf", "application/pdf", "application/pdf"),
        ("sheet.xlsx", "", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
        ("bundle.zip", "application/x-zip-compressed", "application/zip"),
    ],
)
def test_allowed_types(name, declared, expected):
    assert checks.normalise_type(declared, name) == expected


@pytest.mark.parametrize(
    ("name", "declared", "reason"),
    [
        ("drawing.svg", "image/svg+xml", "cannot be attached"),
        ("page.html", "text/html", "cannot be attached"),
        ("setup.exe", "application/x-msdownload", "cannot be attached"),
        ("mystery", "", "unknown"),
        ("notes.png", "text/plain", "does not match"),  # a text file named as an image
        ("photo.txt", "image/png", "does not match"),  # an image named as text
        ("photo.png", "image/jpeg", "does not match"),
    ],
)
def test_refused_types(name, declared, reason):
    with pytest.raises(AttachmentError, match=reason):
        checks.normalise_type(declared, name)


@pytest.mark.parametrize(
    ("content_type", "head", "ok"),
    [
        ("image/png", b"\x89PNG\r\n\x1a\n....", True),
        ("image/png", b"hello, I am text", False),
        ("image/jpeg", b"\xff\xd8\xff\xe0", True),
        ("image/gif", b"GIF89a..", True),
        ("image/webp", b"RIFF\x00\x00\x00\x00WEBPVP8 ", True),
        ("image/webp", b"RIFF\x00\x00\x00\x00WAVEfmt ", False),
        ("application/pdf", PDF, True),
        ("application/pdf", b"<html>", False),
        ("text/plain", b"anything", True),
    ],
)
def test_sniff_matches(content_type, head, ok):
    assert checks.sniff_matches(content_type, head) is ok


class Redactable:
    def __init__(self, **fields):
        self.__dict__.update(fields)


@pytest.mark.parametrize(
    ("message", "visible"),
    [
        (None, False),
        (Redactable(), True),
        (Redactable(redacted_at=None), True),
        (Redactable(redacted_at=timezone.now()), False),
        (Redactable(deleted_at=timezone.now()), False),
    ],
)
def test_message_is_visible(message, visible):
    assert checks.message_is_visible(message) is visible
