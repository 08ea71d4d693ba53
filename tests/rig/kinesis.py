"""Chime's event stream for the tests: a Kinesis stream on moto's threaded server (real HTTP, real
shards), and records shaped like Chime's streaming export ({"EventType": ..., "Payload": ...})."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from tests.rig.chime import APP_INSTANCE_ARN, REGION
from tests.rig.s3 import ACCESS_KEY, SECRET_KEY

# Hash keys that land in the first and the last of two shards (moto splits the key space evenly).
FIRST_SHARD_KEY = "1"
LAST_SHARD_KEY = str(2**128 - 2)


def kinesis_client(endpoint_url: str):
    import boto3

    return boto3.client(
        "kinesis",
        endpoint_url=endpoint_url,
        region_name=REGION,
        aws_access_key_id=ACCESS_KEY,
        aws_secret_access_key=SECRET_KEY,
    )


class EventStream:
    """A fresh Kinesis stream named like Chime wants (chime-messaging-...), with 2 shards."""

    def __init__(self, endpoint_url: str, *, shards: int = 2) -> None:
        self.client = kinesis_client(endpoint_url)
        self.name = f"chime-messaging-{uuid.uuid4().hex[:10]}"
        self.client.create_stream(StreamName=self.name, ShardCount=shards)
        summary = self.client.describe_stream_summary(StreamName=self.name)["StreamDescriptionSummary"]
        self.arn = summary["StreamARN"]  # in moto's own account

    def shard_ids(self) -> list[str]:
        return [shard["ShardId"] for shard in self.client.list_shards(StreamARN=self.arn)["Shards"]]

    def put(self, record: dict[str, Any], *, shard: str = "first", payload_as_string: bool = False) -> str:
        """Write one record as Chime would; returns its sequence number."""
        body = dict(record)
        if payload_as_string:
            body["Payload"] = json.dumps(body["Payload"])
        answer = self.client.put_record(
            StreamARN=self.arn,
            Data=json.dumps(body).encode(),
            PartitionKey="chime",
            ExplicitHashKey=FIRST_SHARD_KEY if shard == "first" else LAST_SHARD_KEY,
        )
        return answer["SequenceNumber"]

    def put_for_channel(self, record: dict[str, Any]) -> str:
        """As Chime writes (we assume): keyed by channel, so one channel's events share a shard."""
        key = record["Payload"].get("ChannelArn") or "app-instance"
        answer = self.client.put_record(StreamARN=self.arn, Data=json.dumps(record).encode(), PartitionKey=key[-256:])
        return answer["SequenceNumber"]

    def put_raw(self, data: bytes, *, shard: str = "first") -> str:
        key = FIRST_SHARD_KEY if shard == "first" else LAST_SHARD_KEY
        return self.client.put_record(StreamARN=self.arn, Data=data, PartitionKey="x", ExplicitHashKey=key)[
            "SequenceNumber"
        ]

    def split_first_shard(self) -> None:
        """Reshard: the first shard closes, two children take its keys."""
        first = self.shard_ids()[0]
        self.client.split_shard(StreamARN=self.arn, ShardToSplit=first, NewStartingHashKey=str(2**126))
        # moto 5.2 routes a record to the first shard whose range holds its key, closed or not, so
        # the closed parent would go on taking records; put it last, as Kinesis routes to open shards.
        from moto.kinesis.models import kinesis_backends

        for backend in kinesis_backends.values():
            stream = backend[REGION].streams.get(self.name) if REGION in backend else None
            if stream is not None:
                stream.shards[first] = stream.shards.pop(first)


# --- Records as Chime writes them -------------------------------------------------------------

T0 = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)


def stamp(seconds: float) -> str:
    return (T0 + timedelta(seconds=seconds)).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def user_arn(user_id: str) -> str:
    return f"{APP_INSTANCE_ARN}/user/{user_id}"


def message_record(
    event_type: str,
    channel_arn: str,
    message_id: str,
    *,
    content: str = "",
    sender: str = "user-1",
    at: float = 0,
    edited: float | None = None,
    redacted: bool = False,
    metadata: dict | None = None,
    subchannel: str | None = None,
) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "ChannelArn": channel_arn,
        "MessageId": message_id,
        "Content": content,
        "Metadata": json.dumps(metadata) if metadata is not None else "",
        "Type": "STANDARD",
        "CreatedTimestamp": stamp(at),
        "LastUpdatedTimestamp": stamp(edited if edited is not None else at),
        "Sender": {"Arn": user_arn(sender) if not sender.startswith("arn:") else sender, "Name": sender},
        "Redacted": redacted,
        "Persistence": "PERSISTENT",
    }
    if edited is not None:
        payload["LastEditedTimestamp"] = stamp(edited)
    if subchannel:
        payload["SubChannelId"] = subchannel
    return {"EventType": event_type, "Payload": payload}


def member_record(event_type: str, channel_arn: str, member: str, *, by: str | None = None, subchannel=None):
    kind = "Moderator" if "MODERATOR" in event_type else "Member"
    payload: dict[str, Any] = {"ChannelArn": channel_arn, kind: {"Arn": user_arn(member), "Name": member}}
    if by:
        payload["InvitedBy" if "MEMBERSHIP" in event_type else "CreatedBy"] = {"Arn": user_arn(by), "Name": by}
    if subchannel:
        payload["SubChannelId"] = subchannel
    if "MEMBERSHIP" in event_type:
        payload["Type"] = "DEFAULT"
    return {"EventType": event_type, "Payload": payload}


def channel_record(event_type: str, channel_arn: str, *, name: str = "", mode: str = "RESTRICTED") -> dict:
    payload = {"ChannelArn": channel_arn, "Name": name, "Mode": mode, "Privacy": "PRIVATE"}
    return {"EventType": event_type, "Payload": payload}


def subchannel_record(event_type: str, channel_arn: str, subchannel_id: str) -> dict:
    return {"EventType": event_type, "Payload": {"ChannelArn": channel_arn, "SubChannelId": subchannel_id}}
