"""chat/backends/chime/backend.py on the wire: every call carries the right x-amz-chime-bearer header
(checked with a before-send handler, which sees the signed HTTP request botocore would send)."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field

import boto3
import pytest
from botocore.awsrequest import AWSResponse

from chat.backends.base import OutgoingMessage
from chat.backends.chime import ChimeBackend
from chat.models import Channel, ChannelType, Message, Privacy, SubChannel
from tests.rig.chime import ADMIN_ARN, APP_INSTANCE_ARN, REGION, arn_of, channel_arn

ARN = channel_arn(3)
ANSWERS = {
    "CreateChannel": {"ChannelArn": ARN},
    "SendChannelMessage": {"ChannelArn": ARN, "MessageId": "m-1", "Status": {"Value": "SENT"}},
    "ListSubChannels": {"SubChannels": [{"SubChannelId": "sub-a"}]},
    "DescribeChannelMembership": {"ChannelMembership": {"SubChannelId": "sub-a"}},
    "BatchCreateChannelMembership": {"Errors": []},
}


class Raw:
    def __init__(self, body: bytes) -> None:
        self.body = body

    def stream(self, **_kwargs):
        yield self.body


@dataclass
class Wire:
    """What left for Chime: (operation, method, path, bearer header) per request."""

    sent: list[tuple[str, str, str, str | None]] = field(default_factory=list)

    def __call__(self, request, **kwargs):
        operation = kwargs["event_name"].rsplit(".", 1)[-1]
        bearer = request.headers.get("x-amz-chime-bearer")
        bearer = bearer.decode() if isinstance(bearer, bytes) else bearer
        self.sent.append((operation, request.method, request.url.split("amazonaws.com", 1)[-1], bearer))
        body = json.dumps(ANSWERS.get(operation, {})).encode()
        return AWSResponse(request.url, 200, {"Content-Type": "application/json"}, Raw(body))

    def bearers(self) -> dict[str, str | None]:
        return {operation: bearer for operation, _, _, bearer in self.sent}


@pytest.fixture
def wire(aws_env, db):
    messaging = boto3.client("chime-sdk-messaging", region_name=REGION)
    recorder = Wire()
    messaging.meta.events.register("before-send.chime-sdk-messaging.*", recorder)
    backend = ChimeBackend(app_instance_arn=APP_INSTANCE_ARN, admin_arn=ADMIN_ARN, messaging=messaging)
    return backend, recorder


def person(make_user, name: str):
    user = make_user(name)
    user.profile.chime_arn = arn_of(user)
    user.profile.save()
    return user


def test_every_call_carries_the_person_or_the_administrator_as_bearer(wire, make_user):
    backend, recorder = wire
    owner, ann = person(make_user, "owner"), person(make_user, "ann")
    channel = Channel(name="Knitting", privacy=Privacy.PRIVATE, created_by=owner)
    channel.chime_arn = backend.create_channel(channel, creator=owner).ref
    channel.save()
    backend.add_members(channel, [ann], actor=owner)
    backend.add_moderator(channel, ann, actor=None)
    backend.remove_moderator(channel, ann, actor=owner)
    backend.ban(channel, ann, actor=owner)
    backend.unban(channel, ann, actor=None)
    backend.update_channel(channel, actor=owner)
    backend.send_message(OutgoingMessage(channel=channel, sender=ann, content="hi", client_msg_id=uuid.uuid4()))
    message = Message(channel=channel, author=ann, content="hi", chime_message_id="m-1")
    backend.edit_message(message, "hello", actor=ann)
    backend.redact_message(message, actor=owner)
    backend.delete_message(message)
    backend.remove_member(channel, ann, actor=ann)
    backend.delete_channel(channel, actor=owner)
    assert recorder.bearers() == {
        "CreateChannel": arn_of(owner),
        "CreateChannelMembership": arn_of(owner),
        "CreateChannelModerator": ADMIN_ARN,
        "DeleteChannelModerator": arn_of(owner),
        "CreateChannelBan": arn_of(owner),
        "DeleteChannelBan": ADMIN_ARN,
        "UpdateChannel": arn_of(owner),
        "SendChannelMessage": arn_of(ann),
        "UpdateChannelMessage": arn_of(ann),
        "RedactChannelMessage": arn_of(owner),
        "DeleteChannelMessage": ADMIN_ARN,
        "DeleteChannelMembership": arn_of(ann),
        "DeleteChannel": arn_of(owner),
    }
    # The ARNs travel URL-encoded in the path, as Chime's REST API has them.
    method, path = next((method, path) for op, method, path, _ in recorder.sent if op == "DeleteChannelMessage")
    assert method == "DELETE"
    assert path.endswith("/messages/m-1")
    assert "%2Fchannel%2Fc0003" in path


def test_administrative_reads_carry_the_administrator(wire, make_user):
    backend, recorder = wire
    owner, ann = person(make_user, "owner"), person(make_user, "ann")
    channel = Channel.objects.create(
        name="Crowd",
        privacy=Privacy.PUBLIC,
        channel_type=ChannelType.ELASTIC,
        maximum_subchannels=2,
        target_memberships_per_subchannel=2,
        minimum_membership_percentage=25,
        created_by=owner,
        chime_arn=ARN,
    )
    SubChannel.objects.create(channel=channel, number=1, chime_id="sub-a")
    assert backend.subchannel_ids(channel) == ["sub-a"]
    assert backend.add_members(channel, [ann, owner], actor=owner) == {ann.pk: "sub-a", owner.pk: "sub-a"}
    assert recorder.bearers() == {
        "ListSubChannels": ADMIN_ARN,
        "BatchCreateChannelMembership": arn_of(owner),
        "DescribeChannelMembership": ADMIN_ARN,
    }


def test_reactions_go_as_the_person_and_a_clearing_as_the_administrator(wire, make_user):
    backend, recorder = wire
    owner, ann = person(make_user, "owner"), person(make_user, "ann")
    channel = Channel.objects.create(name="Knitting", privacy=Privacy.PRIVATE, created_by=owner, chime_arn=ARN)
    message = Message.objects.create(channel=channel, author=owner, content="hi", chime_message_id="m-1")
    backend.add_reaction(message, "👍", actor=ann)
    backend.remove_reaction(message, "👍", actor=ann)
    backend.clear_reactions(message)
    assert [(operation, bearer) for operation, _, _, bearer in recorder.sent] == [
        ("SendChannelMessage", arn_of(ann)),
        ("SendChannelMessage", arn_of(ann)),
        ("SendChannelMessage", ADMIN_ARN),
    ]
    # History from before the move to Chime: nothing leaves.
    backend.add_reaction(Message(channel=channel, author=owner, content="old"), "👍", actor=ann)
    assert len(recorder.sent) == 3
