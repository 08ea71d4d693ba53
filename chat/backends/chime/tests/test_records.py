"""chat/backends/chime/records.py: Chime's streaming-export records, Payload as object or string."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from chat.backends.chime.records import (
    ChimeChannel,
    ChimeMember,
    ChimeMessage,
    ChimeSubChannel,
    RecordError,
    parse_record,
    parse_time,
)

MESSAGE = {
    "ChannelArn": "arn:c",
    "MessageId": "m-1",
    "Content": "hi",
    "Metadata": '{"client_msg_id":"3f1c1b2e-8a39-4f8d-9d5b-0c0f7c1e2a11"}',
    "Type": "STANDARD",
    "CreatedTimestamp": "2026-03-01T10:00:00.000Z",
    "LastUpdatedTimestamp": "2026-03-01T10:00:00.000Z",
    "LastEditedTimestamp": "2026-03-01T10:05:00.000Z",
    "Sender": {"Arn": "arn:u", "Name": "ann"},
    "Redacted": False,
    "Persistence": "PERSISTENT",
    "SubChannelId": "sub-a",
}


@pytest.mark.parametrize("payload", [MESSAGE, json.dumps(MESSAGE)])
def test_the_payload_is_read_as_an_object_or_a_json_string(payload):
    data = json.dumps({"EventType": "UPDATE_CHANNEL_MESSAGE", "Payload": payload}).encode()
    event = parse_record(data)
    message = ChimeMessage.from_payload(event.payload)
    assert (event.event_type, event.channel_arn) == ("UPDATE_CHANNEL_MESSAGE", "arn:c")
    assert (message.message_id, message.sender_arn, message.subchannel_id) == ("m-1", "arn:u", "sub-a")
    assert message.client_msg_id == "3f1c1b2e-8a39-4f8d-9d5b-0c0f7c1e2a11"
    assert message.changed_at == datetime(2026, 3, 1, 10, 5, tzinfo=UTC)


@pytest.mark.parametrize(
    "data",
    [b"not json", b"[]", b'{"Payload": {}}', b'{"EventType": "X", "Payload": "nope"}', b'{"EventType": "X"}'],
)
def test_unreadable_records_are_record_errors(data):
    with pytest.raises(RecordError):
        parse_record(data)


@pytest.mark.parametrize(
    "value",
    ["2026-03-01T10:00:00Z", "2026-03-01T10:00:00+00:00", 1772359200, 1772359200000, datetime(2026, 3, 1, 10)],
)
def test_timestamps_in_every_shape(value):
    assert parse_time(value) == datetime(2026, 3, 1, 10, tzinfo=UTC)


def test_members_channels_and_subchannels():
    member = ChimeMember.from_payload(
        {"ChannelArn": "arn:c", "Member": {"Arn": "arn:u"}, "InvitedBy": {"Arn": "arn:m"}, "SubChannelId": "s"}
    )
    assert (member.member_arn, member.by_arn, member.subchannel_id) == ("arn:u", "arn:m", "s")
    moderator = ChimeMember.from_payload({"ChannelArn": "arn:c", "Moderator": {"Arn": "arn:u"}})
    assert moderator.member_arn == "arn:u"
    channel = ChimeChannel.from_payload({"ChannelArn": "arn:c", "Name": "N", "Mode": "UNRESTRICTED"})
    assert (channel.name, channel.mode) == ("N", "unrestricted")
    assert ChimeSubChannel.from_payload({"ChannelArn": "arn:c", "SubChannelId": "s"}).subchannel_id == "s"
    with pytest.raises(RecordError):
        ChimeSubChannel.from_payload({"ChannelArn": "arn:c"})
    with pytest.raises(RecordError):
        ChimeMessage.from_payload({"ChannelArn": "arn:c"})
