"""A community for the admin tests: two private channels, one person in each admin role, a
message with an attachment, and a report about it."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass

import pytest

from chat.models import Attachment, AttachmentState, Ban, Channel, Membership, Message, Privacy, Report, Role
from chat.services import reports
from chat.services.memberships import add_members
from chat.services.messages import send_message

ROLES = ("superuser", "administrator", "moderator_a", "moderator_b", "member", "outsider")
# Where each role works: administrators in /admin/, moderators (not staff) in /moderation/.
HOME_SITE = {
    "superuser": "admin",
    "administrator": "admin",
    "moderator_a": "moderation",
    "moderator_b": "moderation",
    "member": "moderation",
    "outsider": "admin",
}


@dataclass
class Community:
    channel_a: Channel
    channel_b: Channel
    superuser: object
    administrator: object
    moderator_a: object
    moderator_b: object
    member: object
    outsider: object
    author: object  # a member of A whose message is reported
    helper: object  # a second moderator of A
    exiled: object  # banned from A
    pending: object  # a registration waiting for approval
    newbie: object  # active, in no channel
    message: Message
    report: Report
    attachment: Attachment

    def actor(self, role: str):
        return getattr(self, role)


def say(user, channel, content: str) -> Message:
    return send_message(actor=user, channel_id=channel.pk, content=content, client_msg_id=uuid.uuid4()).message


@pytest.fixture
def community(make_user, make_administrator, make_channel) -> Community:
    from hobbies.accounts.models import Approval

    people = {name: make_user(name) for name in ("moderator_a", "moderator_b", "member", "outsider")}
    people |= {name: make_user(name) for name in ("author", "helper", "exiled")}
    superuser = make_user("root", is_staff=True, is_superuser=True)
    administrator = make_administrator("administrator")
    pending = make_user("newcomer", approval=Approval.PENDING)
    newbie = make_user("newbie")
    channel_a = make_channel(people["moderator_a"], name="Knitting", privacy=Privacy.PRIVATE)
    channel_b = make_channel(people["moderator_b"], name="Pottery", privacy=Privacy.PRIVATE)
    add_members(actor=people["moderator_a"], channel=channel_a, users=[people["member"], people["author"]])
    Membership.objects.create(channel=channel_a, user=people["helper"], role=Role.MODERATOR)
    Ban.objects.create(channel=channel_a, user=people["exiled"], created_by=people["moderator_a"], reason="spam")
    say(people["member"], channel_a, "Anyone for the wool fair?")
    message = say(people["author"], channel_a, "Buy cheap followers at spam.example")
    say(people["member"], channel_a, "Please don't.")
    say(people["moderator_b"], channel_b, "Glazes today")
    attachment = Attachment.objects.create(
        uploader=people["author"],
        channel=channel_a,
        key=f"attachments/{channel_a.pk}/{uuid.uuid4()}/offer.pdf",
        name="offer.pdf",
        size=1234,
        content_type="application/pdf",
        state=AttachmentState.ATTACHED,
        message=message,
    )
    report = reports.report_message(actor=people["member"], message_id=message.pk, reason="spam", details="again")
    return Community(
        channel_a=channel_a,
        channel_b=channel_b,
        superuser=superuser,
        administrator=administrator,
        pending=pending,
        newbie=newbie,
        message=message,
        report=report,
        attachment=attachment,
        **people,
    )


@pytest.fixture
def signed_in(client) -> Callable[[object], object]:
    def sign_in(user):
        client.force_login(user)
        return client

    return sign_in
