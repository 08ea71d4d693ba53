"""chat/attachments/naming.py: one harmless path component, capped in bytes."""

from __future__ import annotations

import os

import pytest

from chat.attachments import naming

PDF = b"%PDF-1.4\n1 0 obj << >> endobj\ntrailer << >>\n%%EOF\n"
KEY_PATTERN = r"attachments/{channel}/[0-9a-f]{{32}}/{name}"


@pytest.mark.parametrize(
    ("raw", "safe"),
    [
        ("report.pdf", "report.pdf"),
        ("../../etc/passwd", "passwd"),
        ("..\\..\\windows\\win.ini", "win.ini"),
        ("/absolute/path/photo.png", "photo.png"),
        (".bashrc", "bashrc"),
        ("..", "file"),
        ("", "file"),
        ("   ", "file"),
        ("a\x00b\nc\r.txt", "abc.txt"),
        ("invoice\u202egpj.exe", "invoicegpj.exe"),  # right-to-left override hides ".exe"
        ('a<b>:"c|?*.txt', "a_b___c___.txt"),
        ("  spaced \t  out.txt  ", "spaced out.txt"),
        ("trailing dots...", "trailing dots"),
        ("résumé 日本語 ñ.pdf", "résumé 日本語 ñ.pdf"),
        ("Cafe\u0301.txt", "Café.txt"),  # NFC: one code point for é
    ],
)
def test_safe_name(raw, safe):
    assert naming.safe_name(raw) == safe


@pytest.mark.parametrize("raw", ["x" * 400 + ".pdf", "日" * 300 + ".docx", "y" * 500])
def test_safe_name_caps_length_in_bytes_and_keeps_the_extension(raw):
    name = naming.safe_name(raw)
    assert len(name.encode()) <= naming.MAX_NAME_BYTES
    assert name.endswith(os.path.splitext(raw)[1])
    name.encode().decode()  # still valid UTF-8: no character cut in half
