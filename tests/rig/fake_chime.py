"""A small local Chime: the subset of the chime-sdk-messaging and chime-sdk-identity REST JSON APIs
the backend uses, over real HTTP, for the suite run on the chime backend and the browser tests.

The app reaches it through botocore's own per-service endpoint variables
(AWS_ENDPOINT_URL_CHIME_SDK_MESSAGING / _IDENTITY) with dummy credentials: requests are
serialised and signed exactly as for AWS. It keeps Chime's rules that do not depend on how a test
built its rows: bearers must be AppInstanceUsers, ClientRequestTokens are idempotent, only the
AppInstanceAdmin deletes messages and lists sub-channels, banned people are not added, elastic
channels place their members (fullest sub-channel with room first). Policy is the app's, so
membership is not checked on sends. With `on_event`, every change is also handed on as Chime's
streaming export would write it ({"EventType", "Payload"}), e.g. into a Kinesis stream.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from tests.rig.chime import ADMIN_ARN, APP_INSTANCE_ARN
from tests.rig.servers import free_port


class Refusal(Exception):
    def __init__(self, status: int, code: str, message: str = "") -> None:
        super().__init__(message or code)
        self.status, self.code = status, code


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class FakeChime:
    def __init__(self, on_event: Callable[[str, dict], None] | None = None) -> None:
        self.lock = threading.Lock()
        self.on_event = on_event
        self.reset()

    def reset(self) -> None:
        with self.lock:
            self.users: set[str] = {ADMIN_ARN}
            self.channels: dict[str, dict[str, Any]] = {}
            self.tokens: dict[tuple, str] = {}
            self.calls: list[tuple[str, str | None]] = []

    # Serving

    def start(self) -> FakeChime:
        from tests.rig.fake_chime_http import serve

        self.port = free_port()
        self.server = serve(self, self.port)
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def env(self) -> dict[str, str]:
        return {"AWS_ENDPOINT_URL_CHIME_SDK_MESSAGING": self.url, "AWS_ENDPOINT_URL_CHIME_SDK_IDENTITY": self.url}

    def emit(self, event_type: str, payload: dict) -> None:
        if self.on_event is not None:
            self.on_event(event_type, payload)

    # Identity

    def create_app_instance_user(self, body, **_):
        arn = f"{body['AppInstanceArn']}/user/{body['AppInstanceUserId']}"
        if arn in self.users:
            raise Refusal(409, "ConflictException", "user exists")
        self.users.add(arn)
        return 201, {"AppInstanceUserArn": arn}

    # Channels

    def channel(self, arn: str) -> dict:
        if arn not in self.channels:
            raise Refusal(404, "NotFoundException", f"no channel {arn}")
        return self.channels[arn]

    def create_channel(self, body, bearer, **_):
        key = ("channel", bearer, body["ClientRequestToken"])
        if key in self.tokens:
            return 201, {"ChannelArn": self.tokens[key]}
        arn = f"{APP_INSTANCE_ARN}/channel/{uuid.uuid4().hex}"
        elastic = body.get("ElasticChannelConfiguration")
        if elastic and body.get("Mode") != "RESTRICTED":
            raise Refusal(400, "BadRequestException", "elastic channels are restricted")
        self.channels[arn] = {
            "Name": body["Name"],
            "Mode": body.get("Mode", "RESTRICTED"),
            "Privacy": body.get("Privacy", "PUBLIC"),
            "elastic": elastic,
            "members": {member: None for member in body.get("MemberArns", [])},
            "moderators": set(body.get("ModeratorArns", [])),
            "bans": set(),
            "subchannels": ["sub-1"] if elastic else [],
            "messages": {},
        }
        self.tokens[key] = arn
        self.emit("CREATE_CHANNEL", {"ChannelArn": arn, "Name": body["Name"], "Metadata": body.get("Metadata", "")})
        return 201, {"ChannelArn": arn}

    def update_channel(self, channel_arn, body, **_):
        channel = self.channel(channel_arn)
        channel.update({key: body[key] for key in ("Name", "Mode") if key in body})
        self.emit("UPDATE_CHANNEL", {"ChannelArn": channel_arn, "Name": channel["Name"], "Mode": channel["Mode"]})
        return 200, {"ChannelArn": channel_arn}

    def delete_channel(self, channel_arn, **_):
        self.channel(channel_arn)
        del self.channels[channel_arn]
        self.emit("DELETE_CHANNEL", {"ChannelArn": channel_arn})
        return 204, {}

    def list_sub_channels(self, channel_arn, bearer, **_):
        channel = self.channel(channel_arn)
        if bearer != ADMIN_ARN and bearer not in channel["moderators"]:
            raise Refusal(403, "ForbiddenException", "admins and moderators only")
        counts = {sub: list(channel["members"].values()).count(sub) for sub in channel["subchannels"]}
        return 200, {
            "ChannelArn": channel_arn,
            "SubChannels": [{"SubChannelId": s, "MembershipCount": n} for s, n in counts.items()],
        }

    # Members

    def place(self, channel_arn: str, channel: dict, member: str, subchannel: str | None) -> str | None:
        config = channel["elastic"]
        if not config:
            return None
        if subchannel or member in channel["moderators"]:
            return subchannel or channel["subchannels"][0]
        target = config["TargetMembershipsPerSubChannel"]
        seated = list(channel["members"].values())
        roomy = [sub for sub in channel["subchannels"] if seated.count(sub) < target]
        if roomy:
            return max(roomy, key=seated.count)
        if len(channel["subchannels"]) >= config["MaximumSubChannels"]:
            raise Refusal(400, "ResourceLimitExceededException", "elastic channel is full")
        new = f"sub-{len(channel['subchannels']) + 1}"
        channel["subchannels"].append(new)
        self.emit("CREATE_SUB_CHANNEL", {"ChannelArn": channel_arn, "SubChannelId": new})
        return new

    def add(self, channel_arn: str, member: str, bearer: str, subchannel: str | None) -> str | None:
        channel = self.channel(channel_arn)
        if member in channel["bans"]:
            raise Refusal(403, "ForbiddenException", "banned")
        if member not in self.users:
            raise Refusal(404, "NotFoundException", f"no user {member}")
        placed = self.place(channel_arn, channel, member, subchannel)
        channel["members"][member] = placed
        payload = {
            "ChannelArn": channel_arn,
            "Member": {"Arn": member},
            "InvitedBy": {"Arn": bearer},
            "Type": "DEFAULT",
        }
        self.emit("CREATE_CHANNEL_MEMBERSHIP", {**payload, **({"SubChannelId": placed} if placed else {})})
        return placed

    def create_channel_membership(self, channel_arn, body, bearer, **_):
        placed = self.add(channel_arn, body["MemberArn"], bearer, body.get("SubChannelId"))
        answer = {"ChannelArn": channel_arn, "Member": {"Arn": body["MemberArn"]}}
        return 201, {**answer, **({"SubChannelId": placed} if placed else {})}

    def batch_create_channel_membership(self, channel_arn, body, bearer, **_):
        errors = []
        for member in body["MemberArns"]:
            try:
                self.add(channel_arn, member, bearer, body.get("SubChannelId"))
            except Refusal as refusal:
                errors.append(
                    {
                        "MemberArn": member,
                        "ErrorCode": refusal.code.replace("Exception", ""),
                        "ErrorMessage": str(refusal),
                    }
                )
        members = [{"Arn": member} for member in body["MemberArns"]]
        return 200, {"BatchChannelMemberships": {"ChannelArn": channel_arn, "Members": members}, "Errors": errors}

    def describe_channel_membership(self, channel_arn, member_arn, **_):
        channel = self.channel(channel_arn)
        if member_arn not in channel["members"]:
            raise Refusal(404, "NotFoundException", "not a member")
        placed = channel["members"][member_arn]
        membership = {"ChannelArn": channel_arn, "Member": {"Arn": member_arn}, "Type": "DEFAULT"}
        return 200, {"ChannelMembership": {**membership, **({"SubChannelId": placed} if placed else {})}}

    def delete_channel_membership(self, channel_arn, member_arn, **_):
        self.channel(channel_arn)["members"].pop(member_arn, None)
        self.emit("DELETE_CHANNEL_MEMBERSHIP", {"ChannelArn": channel_arn, "Member": {"Arn": member_arn}})
        return 204, {}

    def create_channel_moderator(self, channel_arn, body, bearer, **_):
        self.channel(channel_arn)["moderators"].add(body["ChannelModeratorArn"])
        moderator = {"Arn": body["ChannelModeratorArn"]}
        self.emit("CREATE_CHANNEL_MODERATOR", {"ChannelArn": channel_arn, "Moderator": moderator})
        return 201, {"ChannelArn": channel_arn, "ChannelModerator": moderator}

    def delete_channel_moderator(self, channel_arn, moderator_arn, **_):
        self.channel(channel_arn)["moderators"].discard(moderator_arn)
        self.emit("DELETE_CHANNEL_MODERATOR", {"ChannelArn": channel_arn, "Moderator": {"Arn": moderator_arn}})
        return 204, {}

    def create_channel_ban(self, channel_arn, body, bearer, **_):
        channel = self.channel(channel_arn)
        if body["MemberArn"] in channel["bans"]:
            raise Refusal(409, "ConflictException", "already banned")
        channel["bans"].add(body["MemberArn"])
        channel["members"].pop(body["MemberArn"], None)  # a ban also removes the member
        self.emit("CREATE_CHANNEL_BAN", {"ChannelArn": channel_arn, "Member": {"Arn": body["MemberArn"]}})
        return 201, {"ChannelArn": channel_arn, "Member": {"Arn": body["MemberArn"]}}

    def delete_channel_ban(self, channel_arn, member_arn, **_):
        self.channel(channel_arn)["bans"].discard(member_arn)
        self.emit("DELETE_CHANNEL_BAN", {"ChannelArn": channel_arn, "Member": {"Arn": member_arn}})
        return 204, {}

    # Messages

    def message(self, channel_arn: str, message_id: str) -> dict:
        found = self.channel(channel_arn)["messages"].get(message_id)
        if found is None:
            raise Refusal(404, "NotFoundException", f"no message {message_id}")
        return found

    def send_channel_message(self, channel_arn, body, bearer, **_):
        channel = self.channel(channel_arn)
        key = ("message", bearer, body["ClientRequestToken"])
        if key not in self.tokens:
            message_id = uuid.uuid4().hex
            stamp = now()
            channel["messages"][message_id] = message = {
                "ChannelArn": channel_arn,
                "MessageId": message_id,
                "Content": body["Content"],
                "Metadata": body.get("Metadata", ""),
                "Type": body["Type"],
                "Persistence": body["Persistence"],
                "CreatedTimestamp": stamp,
                "LastUpdatedTimestamp": stamp,
                "Sender": {"Arn": bearer, "Name": bearer.rsplit("/", 1)[-1]},
                "Redacted": False,
                **({"SubChannelId": body["SubChannelId"]} if body.get("SubChannelId") else {}),
            }
            self.tokens[key] = message_id
            self.emit("CREATE_CHANNEL_MESSAGE", dict(message))
        message_id = self.tokens[key]
        return 201, {"ChannelArn": channel_arn, "MessageId": message_id, "Status": {"Value": "SENT"}}

    def update_channel_message(self, channel_arn, message_id, body, bearer, **_):
        message = self.message(channel_arn, message_id)
        if message["Sender"]["Arn"] != bearer:
            raise Refusal(403, "ForbiddenException", "only the sender edits")
        stamp = now()
        message.update(Content=body["Content"], Metadata=body.get("Metadata", ""), LastEditedTimestamp=stamp)
        message["LastUpdatedTimestamp"] = stamp
        self.emit("UPDATE_CHANNEL_MESSAGE", dict(message))
        return 200, {"ChannelArn": channel_arn, "MessageId": message_id, "Status": {"Value": "SENT"}}

    def redact_channel_message(self, channel_arn, message_id, **_):
        message = self.message(channel_arn, message_id)
        message.update(Content="", Metadata="", Redacted=True, LastUpdatedTimestamp=now())
        self.emit("REDACT_CHANNEL_MESSAGE", dict(message))
        return 200, {"ChannelArn": channel_arn, "MessageId": message_id}

    def delete_channel_message(self, channel_arn, message_id, bearer, **_):
        if bearer != ADMIN_ARN:
            raise Refusal(403, "ForbiddenException", "only AppInstanceAdmins delete messages")
        message = self.message(channel_arn, message_id)
        del self.channel(channel_arn)["messages"][message_id]
        self.emit("DELETE_CHANNEL_MESSAGE", {**message, "LastUpdatedTimestamp": now()})
        return 204, {}

    def get_channel_message(self, channel_arn, message_id, **_):
        return 200, {"ChannelMessage": self.message(channel_arn, message_id)}

    def list_channel_messages(self, channel_arn, query, **_):
        messages = list(self.channel(channel_arn)["messages"].values())
        if sub := query.get("sub-channel-id", [None])[0]:
            messages = [message for message in messages if message.get("SubChannelId") == sub]
        start = int(query.get("next-token", ["0"])[0])
        size = int(query.get("max-results", ["50"])[0])
        page = [{k: v for k, v in m.items() if k not in ("ChannelArn", "SubChannelId")} for m in messages]
        answer = {"ChannelArn": channel_arn, "ChannelMessages": page[start : start + size]}
        if start + size < len(page):
            answer["NextToken"] = str(start + size)
        return 200, answer


def use_fake_chime(server: FakeChime, *, settings, monkeypatch) -> None:
    """MESSAGING_BACKEND=chime against `server`, emptied, through botocore's endpoint variables."""
    from chat.backends.chime import client
    from tests.rig.chime import CREDENTIALS_ENV

    server.reset()
    for name, value in {**CREDENTIALS_ENV, **server.env()}.items():
        monkeypatch.setenv(name, value)
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    client.reset_clients()
    settings.CHIME_APP_INSTANCE_ARN = APP_INSTANCE_ARN
    settings.CHIME_ADMIN_USER_ARN = ADMIN_ARN
    settings.MESSAGING_BACKEND = "chime"
