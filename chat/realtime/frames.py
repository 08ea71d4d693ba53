"""Reading a browser frame's fields, and the protocol's error codes (docs/protocol.md)."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from django.conf import settings

from chat.attachments.errors import AttachmentError
from chat.exceptions import ChannelFull, ChannelNotFound, ChatError, InvalidRequest, NotAllowed
from chat.services.messages import Banned, MessageRefused
from chat.streams import StreamKey


class FrameError(Exception):
    """A frame refused before any service ran; answered as an `error` frame with `code`."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def error_code(error: ChatError) -> str:
    if isinstance(error, AttachmentError):
        return "attachment_refused"
    if isinstance(error, MessageRefused):
        return error.code
    if isinstance(error, Banned):
        return "banned"
    if isinstance(error, ChannelNotFound):
        return "not_found"
    if isinstance(error, NotAllowed):
        return "forbidden"
    if isinstance(error, ChannelFull):
        return "channel_full"
    if isinstance(error, InvalidRequest) and "does not exist" in error.message:
        return "not_found"
    return "invalid"


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


def parse_frame(text: str | None) -> dict:
    """A browser frame: JSON text, an object, within WS_MAX_FRAME_BYTES."""
    if text is None:
        raise FrameError("bad_json", "Frames are JSON text.")
    if len(text) > settings.WS_MAX_FRAME_BYTES:
        raise FrameError("frame_too_large", f"A frame can be at most {settings.WS_MAX_FRAME_BYTES} bytes.")
    try:
        frame = json.loads(text)
    except ValueError:
        raise FrameError("bad_json", "That frame is not valid JSON.") from None
    if not isinstance(frame, dict):
        raise FrameError("bad_json", "A frame is a JSON object with a `type`.")
    return frame


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
