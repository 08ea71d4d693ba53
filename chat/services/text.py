"""Text people send: it must be Unicode that UTF-8 can carry.

JSON lets a frame spell a lone surrogate ("\\ud800"), which Python decodes into a str that no
page, database driver or channel layer can encode. Every service that keeps or passes on text
from a person (message content, edits, metadata, status texts) checks it here, and the socket
refuses such frames before any service runs (chat/realtime/frames.py).
"""

from __future__ import annotations

from chat.exceptions import InvalidRequest


class NotText(InvalidRequest):
    default_message = "That text is not valid Unicode."


def utf8(value: str, what: str = "text") -> bytes:
    """The UTF-8 bytes of `value` (to count them), or NotText naming `what`."""
    try:
        return value.encode("utf-8")
    except UnicodeEncodeError:
        raise NotText(f"The {what} is not valid Unicode (it holds a lone surrogate).") from None


def check_text(value: str, what: str = "text") -> str:
    utf8(value, what)
    return value
