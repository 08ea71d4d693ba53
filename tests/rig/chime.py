"""Chime for the tests: the ARNs of a pretend app instance, and (FakeChime) a small local HTTP
server speaking the subset of the chime-sdk-messaging and chime-sdk-identity REST JSON APIs the
backend uses, for the suite and the browser tests (pointed at by AWS_ENDPOINT_URL_CHIME_SDK_*)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from tests.rig.s3 import ACCESS_KEY, CREDENTIALS_ENV, REGION, SECRET_KEY

ACCOUNT = "111122223333"
APP_INSTANCE_ARN = f"arn:aws:chime:{REGION}:{ACCOUNT}:app-instance/7e0c4f5e-hobbies-test"
ADMIN_ARN = f"{APP_INSTANCE_ARN}/user/hobbies-admin"
STREAM_NAME = "chime-messaging-hobbies-test"
STREAM_ARN = f"arn:aws:kinesis:{REGION}:{ACCOUNT}:stream/{STREAM_NAME}"

__all__ = ["ACCESS_KEY", "ADMIN_ARN", "APP_INSTANCE_ARN", "CREDENTIALS_ENV", "REGION", "SECRET_KEY", "STREAM_ARN"]


# --- The Chime backend with botocore's Stubber on its clients --------------------------------


def arn_of(user) -> str:
    return f"{APP_INSTANCE_ARN}/user/user-{user.pk}"


def channel_arn(number: int = 1) -> str:
    return f"{APP_INSTANCE_ARN}/channel/c{number:04d}"


class StubbedChime:
    """MESSAGING_BACKEND=chime with Stubber on both clients: every request is checked against the
    real service model (and, where given, our exact parameters) before a canned answer returns."""

    def __init__(self, *, settings, monkeypatch) -> None:
        import boto3
        from botocore.stub import Stubber

        from chat.backends.chime import ChimeBackend

        for name, value in CREDENTIALS_ENV.items():
            monkeypatch.setenv(name, value)
        for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN"):
            monkeypatch.delenv(name, raising=False)
        messaging = boto3.client("chime-sdk-messaging", region_name=REGION)
        identity = boto3.client("chime-sdk-identity", region_name=REGION)
        self.backend = ChimeBackend(
            app_instance_arn=APP_INSTANCE_ARN, admin_arn=ADMIN_ARN, messaging=messaging, identity_client=identity
        )
        monkeypatch.setattr(ChimeBackend, "from_settings", classmethod(lambda cls: self.backend))
        settings.CHIME_APP_INSTANCE_ARN = APP_INSTANCE_ARN
        settings.CHIME_ADMIN_USER_ARN = ADMIN_ARN
        settings.MESSAGING_BACKEND = "chime"
        self.messaging = Stubber(messaging)
        self.identity = Stubber(identity)

    def __enter__(self) -> StubbedChime:
        self.messaging.activate()
        self.identity.activate()
        return self

    def __exit__(self, *exc) -> None:
        self.messaging.deactivate()
        self.identity.deactivate()
        if exc[0] is None:
            self.messaging.assert_no_pending_responses()
            self.identity.assert_no_pending_responses()

    def user(self, make_user, name: str, **fields):
        """A person whose AppInstanceUser exists already (its ARN on their profile)."""
        user = make_user(name, **fields)
        user.profile.chime_arn = arn_of(user)
        user.profile.save(update_fields=["chime_arn"])
        return user

    def expect(self, operation: str, response: dict | None = None, **params) -> None:
        self.messaging.add_response(operation, response or {}, params or None)

    def refuse(self, operation: str, code: str, status: int = 400, **params) -> None:
        self.messaging.add_client_error(operation, code, f"refused: {code}", status, expected_params=params or None)

    def elastic_channel(self, owner, *, channel_arn: str, name: str = "Crowd"):
        """A public elastic channel "Crowd" made through Chime: one sub-channel, "sub-a", with the
        owner's seat in it (at most 3 sub-channels of 2 seats)."""
        from chat.models import ChannelType, Privacy
        from chat.services import channels

        self.expect("create_channel", {"ChannelArn": channel_arn})
        self.expect("list_sub_channels", {"SubChannels": [{"SubChannelId": "sub-a"}]})
        self.expect("create_channel_membership", {"ChannelArn": channel_arn})
        return channels.create_channel(
            actor=owner,
            name=name,
            privacy=Privacy.PUBLIC,
            channel_type=ChannelType.ELASTIC,
            maximum_subchannels=3,
            target_memberships_per_subchannel=2,
            minimum_membership_percentage=25,
        )


class _Token:
    """Equal to any ClientRequestToken Chime accepts (2-64 of [-_a-zA-Z0-9]): for Stubber params."""

    def __eq__(self, other: object) -> bool:
        import re

        return isinstance(other, str) and re.fullmatch(r"[-_a-zA-Z0-9]{2,64}", other) is not None

    def __repr__(self) -> str:
        return "<a ClientRequestToken>"


TOKEN = _Token()


# --- A channel in Chime for the relay-facing services' tests ---------------------------------

CHANNEL_ARN = f"{APP_INSTANCE_ARN}/channel/mirror-1"


@dataclass
class ChimeRoom:
    channel: object
    mod: object
    ann: object
    bob: object
    capture: object
    published: list = field(default_factory=list)

    @classmethod
    def build(cls, person, *, capture) -> ChimeRoom:
        from chat.models import Channel, Membership, Privacy, Role

        mod, ann, bob = person("mod"), person("ann"), person("bob")
        channel = Channel.objects.create(
            name="Knitting", privacy=Privacy.PRIVATE, created_by=mod, chime_arn=CHANNEL_ARN
        )
        Membership.objects.bulk_create(
            [Membership(channel=channel, user=mod, role=Role.MODERATOR), Membership(channel=channel, user=ann)]
        )
        return cls(channel=channel, mod=mod, ann=ann, bob=bob, capture=capture)

    def apply(self, record: dict, *, as_string: bool = False) -> str:
        """Apply one record as the relay does; what it announces is published (after its commit)."""
        from chat.services import mirror

        if as_string:
            record = {**record, "Payload": json.dumps(record["Payload"])}
        with self.capture(execute=True):
            return mirror.apply_record(json.dumps(record).encode())

    def types(self) -> list[str]:
        return [frame["type"] for frame in self.published]
