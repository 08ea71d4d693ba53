"""Reading a browser frame's fields, and the protocol's error codes (docs/protocol.md)."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from django.conf import settings

from chat.exceptions import ChatError
from chat.services.activity import refusal_code
from chat.streams import StreamKey


class FrameError(Exception):
    """A frame refused before any service ran; answered as an `error` frame with `code`."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def error_code(error: ChatError) -> str:
    """The protocol's code of a refusal: one mapping, the services' (they count refusals by it)."""
    return refusal_code(error)


def field(frame: dict, name: str, kind: type | tuple[type, ...], *, required: bool = True) -> Any:
    value = frame.get(name)
    if value is None and not required:
        return None
    # bool is an int in Python; a channel id of `true` is still wrong.
    if value is None or isinstance(value, bool) or not isinstance(value, kind):
        raise FrameError("invalid", f"`{name}` is {'missing' if value is None else 'of the wrong type'}.")
    return value


def positive_id(frame: dict, name: str) -> int:
    value = field(frame, name, int)
    if value <= 0:
        raise FrameError("invalid", f"`{name}` must be a positive id.")
    return value


def stream_field(frame: dict) -> StreamKey | None:
    raw = frame.get("stream")
    if raw is None:
        return None
    try:
        return StreamKey.parse(raw)
    except ValueError as error:
        raise FrameError("invalid", str(error)) from None


# JSON nested deeper than this is refused: no frame of the protocol needs more than a few levels.
MAX_DEPTH = 32


def parse_frame(text: str | None) -> dict:
    """A browser frame: JSON text of at most WS_MAX_FRAME_BYTES bytes in UTF-8, an object, nested at
    most MAX_DEPTH deep, whose every string (keys too) is Unicode that UTF-8 can carry."""
    if text is None:
        raise FrameError("bad_json", "Frames are JSON text.")
    limit = settings.WS_MAX_FRAME_BYTES
    # A character is at most 4 bytes: only text that might be over the limit is encoded to count.
    if len(text) > limit or (len(text) * 4 > limit and len(text.encode("utf-8", "surrogatepass")) > limit):
        raise FrameError("frame_too_large", f"A frame can be at most {limit} bytes.")
    try:
        frame = json.loads(text)
    except (ValueError, RecursionError):  # (nesting past the parser's recursion limit)
        raise FrameError("bad_json", "That frame is not valid JSON.") from None
    if not isinstance(frame, dict):
        raise FrameError("bad_json", "A frame is a JSON object with a `type`.")
    _check_shape(frame, surrogates_possible="\\u" in text)
    return frame


def _check_shape(frame: dict, *, surrogates_possible: bool) -> None:
    # Iterative, so a deep frame cannot exhaust the stack here either. A lone surrogate can only
    # come from a \u escape, so strings are checked only when the text has one.
    pending: list[tuple[Any, int]] = [(frame, 1)]
    while pending:
        value, depth = pending.pop()
        if depth > MAX_DEPTH:
            raise FrameError("invalid", f"A frame can be nested at most {MAX_DEPTH} deep.")
        if isinstance(value, dict):
            pending.extend((key, depth) for key in value)
            pending.extend((item, depth + 1) for item in value.values())
        elif isinstance(value, list):
            pending.extend((item, depth + 1) for item in value)
        elif surrogates_possible and isinstance(value, str) and not _is_unicode(value):
            raise FrameError("invalid", "Text in a frame must be valid Unicode (it holds a lone surrogate).")


def _is_unicode(value: str) -> bool:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def own_stream(following: Iterable[str], channel_id: int, requested: StreamKey | None) -> str:
    """The stream a tab follows in `channel_id` (the one named, when it follows several)."""
    if requested is not None:
        if requested.channel_id == channel_id and str(requested) in following:
            return str(requested)
        raise FrameError("not_found", "You do not follow that stream.")
    keys = [key for key in following if StreamKey.parse(key).channel_id == channel_id]
    if len(keys) == 1:
        return keys[0]
    if not keys:
        raise FrameError("not_found", "You do not follow that channel here; subscribe or join first.")
    raise FrameError("invalid", "You sit in several sub-channels here: name the `stream`.")
