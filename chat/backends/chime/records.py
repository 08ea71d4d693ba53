"""Chime's streaming-export records, parsed: {"EventType": ..., "Payload": ...} as Chime writes
them to the app instance's Kinesis stream (docs/chime.md lists the event types we apply).

``Payload`` arrives as an object or as a JSON string; both are read. Timestamps may be ISO 8601
strings, epoch seconds or milliseconds, or (from botocore's own responses) datetimes.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any


class RecordError(ValueError):
    """A record that is not a Chime event we can read; skipped (and logged) by the relay."""


MESSAGE_EVENTS = frozenset(
    {"CREATE_CHANNEL_MESSAGE", "UPDATE_CHANNEL_MESSAGE", "REDACT_CHANNEL_MESSAGE", "DELETE_CHANNEL_MESSAGE"}
)


@dataclass(frozen=True)
class ChimeEvent:
    event_type: str
    payload: dict[str, Any]

    @property
    def channel_arn(self) -> str | None:
        return self.payload.get("ChannelArn")


def parse_record(data: bytes | str | dict) -> ChimeEvent:
    """One Kinesis record's data as a ChimeEvent; RecordError if it is not one."""
    try:
        body = data if isinstance(data, dict) else json.loads(data)
    except (TypeError, ValueError, UnicodeDecodeError) as error:
        raise RecordError(f"not JSON: {error}") from None
    if not isinstance(body, dict) or not isinstance(body.get("EventType"), str):
        raise RecordError("no EventType")
    payload = body.get("Payload")
    if isinstance(payload, str | bytes):
        try:
            payload = json.loads(payload)
        except ValueError as error:
            raise RecordError(f"Payload is not JSON: {error}") from None
    if not isinstance(payload, dict):
        raise RecordError("Payload is not an object")
    return ChimeEvent(event_type=body["EventType"], payload=payload)


def parse_time(value: Any) -> datetime | None:
    if value in (None, ""):
        return None
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, int | float) and not isinstance(value, bool):
        seconds = value / 1000 if value > 10**11 else value  # epoch milliseconds or seconds
        return datetime.fromtimestamp(seconds, tz=UTC)
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            raise RecordError(f"not a timestamp: {value!r}") from None
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    raise RecordError(f"not a timestamp: {value!r}")


def _arn(identity: Any) -> str | None:
    return identity.get("Arn") if isinstance(identity, dict) else None


def _metadata(raw: Any) -> dict[str, Any]:
    if isinstance(raw, dict):
        return raw
    if not raw:
        return {}
    try:
        value = json.loads(raw)
    except (TypeError, ValueError):
        return {}  # another client's metadata that is not ours to read
    return value if isinstance(value, dict) else {}


@dataclass(frozen=True)
class ChimeMessage:
    """A ChannelMessage (or ListChannelMessages summary) as the mirror needs it."""

    channel_arn: str
    message_id: str
    content: str
    metadata: dict[str, Any]
    sender_arn: str | None
    sender_name: str
    created_at: datetime | None
    changed_at: datetime | None  # the newest of LastEditedTimestamp and LastUpdatedTimestamp
    redacted: bool
    subchannel_id: str | None
    type: str
    persistence: str

    @classmethod
    def from_payload(cls, payload: dict[str, Any]) -> ChimeMessage:
        if not payload.get("ChannelArn") or not payload.get("MessageId"):
            raise RecordError("a message without ChannelArn or MessageId")
        changed = [parse_time(payload.get(name)) for name in ("LastEditedTimestamp", "LastUpdatedTimestamp")]
        changed = [moment for moment in changed if moment is not None]
        sender = payload.get("Sender") or {}
        return cls(
            channel_arn=payload["ChannelArn"],
            message_id=str(payload["MessageId"]),
            content=payload.get("Content") or "",
            metadata=_metadata(payload.get("Metadata")),
            sender_arn=_arn(sender),
            sender_name=(sender.get("Name") or "") if isinstance(sender, dict) else "",
            created_at=parse_time(payload.get("CreatedTimestamp")),
            changed_at=max(changed) if changed else None,
            redacted=bool(payload.get("Redacted")),
            subchannel_id=payload.get("SubChannelId") or None,
            type=payload.get("Type") or "STANDARD",
            persistence=payload.get("Persistence") or "PERSISTENT",
        )

    @property
    def client_msg_id(self) -> str | None:
        value = self.metadata.get("client_msg_id")
        return value if isinstance(value, str) else None


@dataclass(frozen=True)
class ChimeMember:
    """A ChannelMembership, ChannelModerator or ChannelBan: who, where, placed in which sub-channel."""

    channel_arn: str
    member_arn: str
    by_arn: str | None
    subchannel_id: str | None

    @classmethod
    def from_payload(cls, payload: dict[str, Any]) -> ChimeMember:
        member = payload.get("Member") or payload.get("Moderator") or {}
        if not payload.get("ChannelArn") or not _arn(member):
            raise RecordError("a membership without ChannelArn or member")
        return cls(
            channel_arn=payload["ChannelArn"],
            member_arn=_arn(member),
            by_arn=_arn(payload.get("InvitedBy") or payload.get("CreatedBy")),
            subchannel_id=payload.get("SubChannelId") or None,
        )


@dataclass(frozen=True)
class ChimeChannel:
    channel_arn: str
    name: str
    mode: str
    privacy: str

    @classmethod
    def from_payload(cls, payload: dict[str, Any]) -> ChimeChannel:
        if not payload.get("ChannelArn"):
            raise RecordError("a channel without ChannelArn")
        return cls(
            channel_arn=payload["ChannelArn"],
            name=payload.get("Name") or "",
            mode=(payload.get("Mode") or "").lower(),
            privacy=(payload.get("Privacy") or "").lower(),
        )


@dataclass(frozen=True)
class ChimeSubChannel:
    channel_arn: str
    subchannel_id: str

    @classmethod
    def from_payload(cls, payload: dict[str, Any]) -> ChimeSubChannel:
        nested = payload.get("SubChannel") if isinstance(payload.get("SubChannel"), dict) else {}
        subchannel_id = payload.get("SubChannelId") or nested.get("SubChannelId")
        if not payload.get("ChannelArn") or not subchannel_id:
            raise RecordError("a sub-channel event without ChannelArn or SubChannelId")
        return cls(channel_arn=payload["ChannelArn"], subchannel_id=str(subchannel_id))


@dataclass(frozen=True)
class ShardPosition:
    """Where a record sits in the event stream: the checkpoint saved once it has been applied."""

    stream_arn: str
    shard_id: str
    sequence_number: str
