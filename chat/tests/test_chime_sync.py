"""manage.py chime_sync: reconciling channels from ListChannelMessages (every page), and
provisioning a running community's people and channels in Chime (Stubber on every call)."""

from __future__ import annotations

import io
from datetime import UTC, datetime

import pytest
from django.core.management import CommandError, call_command

from chat.backends.chime.channels import APP_METADATA
from chat.models import Ban, Channel, Membership, Message, Privacy, Role, StreamEvent
from tests.rig.chime import ADMIN_ARN, APP_INSTANCE_ARN, TOKEN, arn_of, channel_arn

pytestmark = pytest.mark.django_db

ARN = channel_arn(5)
T = datetime(2026, 6, 1, 9, tzinfo=UTC)


def run(*args) -> str:
    out = io.StringIO()
    call_command("chime_sync", *args, stdout=out)
    return out.getvalue()


def listed(message_id, content, sender, **fields):
    return {
        "MessageId": message_id,
        "Content": content,
        "CreatedTimestamp": T,
        "LastUpdatedTimestamp": fields.pop("updated", T),
        "Sender": {"Arn": sender, "Name": "x"},
        "Type": "STANDARD",
        **fields,
    }


def test_a_channel_is_reconciled_from_every_page_of_chimes_messages(
    chime, make_user, django_capture_on_commit_callbacks
):
    ann = chime.user(make_user, "ann")
    channel = Channel.objects.create(name="Knitting", privacy=Privacy.PRIVATE, chime_arn=ARN, created_by=ann)
    Membership.objects.create(channel=channel, user=ann, role=Role.MODERATOR)
    key = str(channel.pk)
    kept = Message.objects.create(
        channel=channel, author=ann, content="old", chime_message_id="m-1", stream_id=key, seq=1
    )
    Message.objects.create(channel=channel, author=ann, content="gone", chime_message_id="m-9", stream_id=key, seq=2)
    local = Message.objects.create(channel=channel, author=ann, content="before Chime", stream_id=key, seq=3)
    base = {"ChannelArn": ARN, "SortOrder": "ASCENDING", "MaxResults": 50, "ChimeBearer": ADMIN_ARN}
    edited = datetime(2026, 6, 1, 10, tzinfo=UTC)
    chime.expect(
        "list_channel_messages",
        {"ChannelMessages": [listed("m-1", "old, edited", arn_of(ann), LastEditedTimestamp=edited)], "NextToken": "p2"},
        **base,
    )
    chime.expect(
        "list_channel_messages",
        {"ChannelMessages": [listed("m-2", "missed", arn_of(ann)), listed("m-3", "", arn_of(ann), Redacted=True)]},
        **base,
        NextToken="p2",
    )
    output = run("--channel", str(channel.pk))
    assert f"channel={channel.pk}" in output
    contents = dict(Message.objects.values_list("chime_message_id", "content"))
    assert contents == {"m-1": "old, edited", "m-2": "missed", "m-3": "", None: "before Chime"}
    kept.refresh_from_db()
    assert kept.edited_at == edited
    assert Message.objects.filter(pk=local.pk).exists()  # our own history stays
    seqs = list(StreamEvent.objects.filter(stream_id=key).order_by("seq").values_list("seq", flat=True))
    assert seqs == sorted(set(seqs))
    # Again, now that Chime holds only m-2: m-1 and m-3 were deleted there, and go here too.
    chime.expect("list_channel_messages", {"ChannelMessages": [listed("m-2", "missed", arn_of(ann))]}, **base)
    before = StreamEvent.objects.filter(type="message.deleted").count()
    run("--all")
    assert StreamEvent.objects.filter(type="message.deleted").count() == before + 2
    assert dict(Message.objects.values_list("chime_message_id", "content")) == {"m-2": "missed", None: "before Chime"}


def test_provisioning_creates_people_and_channels_with_their_members_moderators_and_bans(chime, make_user):
    owner, helper, ann, banned = (make_user(name) for name in ("owner", "helper", "ann", "banned"))
    channel = Channel.objects.create(name="Knitting", privacy=Privacy.PRIVATE, created_by=owner)
    Membership.objects.bulk_create(
        [
            Membership(channel=channel, user=owner, role=Role.MODERATOR),
            Membership(channel=channel, user=helper, role=Role.MODERATOR),
            Membership(channel=channel, user=ann),
        ]
    )
    Ban.objects.create(channel=channel, user=banned)
    for user in (owner, helper, ann, banned):
        chime.identity.add_response(
            "create_app_instance_user",
            {"AppInstanceUserArn": arn_of(user)},
            {
                "AppInstanceArn": APP_INSTANCE_ARN,
                "AppInstanceUserId": f"user-{user.pk}",
                "Name": user.username,
                "ClientRequestToken": TOKEN,
            },
        )
    chime.expect(
        "create_channel",
        {"ChannelArn": ARN},
        AppInstanceArn=APP_INSTANCE_ARN,
        Name="Knitting",
        Mode="RESTRICTED",
        Privacy="PRIVATE",
        Metadata=APP_METADATA,
        ClientRequestToken=TOKEN,
        ChimeBearer=arn_of(owner),
        ModeratorArns=[arn_of(owner)],
        MemberArns=[arn_of(owner)],
    )
    chime.expect(
        "batch_create_channel_membership",
        {"Errors": []},
        ChannelArn=ARN,
        Type="DEFAULT",
        MemberArns=[arn_of(helper), arn_of(ann)],
        ChimeBearer=ADMIN_ARN,
    )
    chime.expect(
        "create_channel_moderator",
        {"ChannelArn": ARN},
        ChannelArn=ARN,
        ChannelModeratorArn=arn_of(helper),
        ChimeBearer=ADMIN_ARN,
    )
    chime.expect(
        "create_channel_ban", {"ChannelArn": ARN}, ChannelArn=ARN, MemberArn=arn_of(banned), ChimeBearer=ADMIN_ARN
    )
    output = run("--provision")
    assert "users=4" in output
    assert Channel.objects.get().chime_arn == ARN
    assert run("--provision") == "users=0\n"  # everything is there: nothing is called


def test_chime_sync_needs_the_chime_backend_and_real_channels(chime, settings):
    with pytest.raises(CommandError, match="No such channel"):
        run("--channel", "404")
    Channel.objects.create(name="Old", privacy=Privacy.PUBLIC)
    with pytest.raises(CommandError, match="not in Chime yet"):
        run("--channel", str(Channel.objects.get().pk))
    settings.MESSAGING_BACKEND = "local"
    with pytest.raises(CommandError, match="MESSAGING_BACKEND=chime"):
        run("--all")
