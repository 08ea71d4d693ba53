"""Stream keys and channel-layer group names, built in one place.

A stream is what a member receives events from: a standard channel (key "12") or one
sub-channel of an elastic channel (key "12:3"), since elastic fan-out is per sub-channel.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class StreamKey:
    channel_id: int
    subchannel_id: int | None = None

    def __str__(self) -> str:
        if self.subchannel_id is None:
            return str(self.channel_id)
        return f"{self.channel_id}:{self.subchannel_id}"

    @property
    def group(self) -> str:
        # Group names allow only ASCII letters, digits, hyphens, underscores and periods.
        return f"stream.{str(self).replace(':', '_')}"

    @classmethod
    def parse(cls, raw: object) -> StreamKey:
        """Raise ValueError for anything that is not "<id>" or "<id>:<id>" with positive ids."""
        if not isinstance(raw, str) or len(raw) > 40:
            raise ValueError("a stream key is a string like '12' or '12:3'")
        parts = raw.split(":")
        if len(parts) > 2 or not all(part.isascii() and part.isdigit() and int(part) > 0 for part in parts):
            raise ValueError("a stream key is a string like '12' or '12:3'")
        return cls(int(parts[0]), int(parts[1]) if len(parts) == 2 else None)


def stream_of_group(group: str) -> str | None:
    """The stream key whose group this is ("stream.12_3" -> "12:3"), or None for another group."""
    if not group.startswith("stream."):
        return None
    try:
        return str(StreamKey.parse(group.removeprefix("stream.").replace("_", ":")))
    except ValueError:
        return None


def user_group(user_id: int) -> str:
    return f"user.{user_id}"
