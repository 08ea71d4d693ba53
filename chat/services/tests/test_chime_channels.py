"""chat/backends/chime/channels.py through the services: the calls each change makes (Stubber
checks each request against the service model and our exact parameters), and every refusal
becoming the local backend's error with nothing written here."""

from __future__ import annotations

import pytest

from chat.backends.base import BackendUnavailable
from chat.backends.chime.channels import APP_METADATA
from chat.exceptions import ChannelFull, InvalidRequest, NotAllowed
from chat.models import Ban, Channel, ChannelType, Membership, ModeratorSeat, Privacy, Role, SubChannel
from chat.services import channels, elastic, memberships
from tests.rig.chime import ADMIN_ARN, APP_INSTANCE_ARN, TOKEN, arn_of, channel_arn

ARN = channel_arn(1)


def create(chime, owner, **fields):
    """A private standard channel created through the service, its CreateChannel answered."""
    chime.expect("create_channel", {"ChannelArn": ARN})
    return channels.create_channel(actor=owner, name="Knitting", privacy=Privacy.PRIVATE, **fields)


def test_creating_a_channel_makes_it_in_chime_with_the_creator_as_moderator(chime, make_user):
    owner = chime.user(make_user, "owner")
    chime.expect(
        "create_channel",
        {"ChannelArn": ARN},
        AppInstanceArn=APP_INSTANCE_ARN,
        Name="Knitting",
        Mode="UNRESTRICTED",
        Privacy="PRIVATE",
        Metadata=APP_METADATA,
        ClientRequestToken=TOKEN,
        ChimeBearer=arn_of(owner),
        ModeratorArns=[arn_of(owner)],
        MemberArns=[arn_of(owner)],
    )
    channel = channels.create_channel(actor=owner, name="Knitting", privacy=Privacy.PRIVATE, mode="unrestricted")
    assert Channel.objects.get(pk=channel.pk).chime_arn == ARN
    assert Membership.objects.get(channel=channel, user=owner).role == Role.MODERATOR


def test_an_elastic_channel_is_configured_and_its_creator_seated_in_chimes_first_subchannel(chime, make_user):
    owner = chime.user(make_user, "owner")
    chime.expect(
        "create_channel",
        {"ChannelArn": ARN},
        AppInstanceArn=APP_INSTANCE_ARN,
        Name="Crowd",
        Mode="RESTRICTED",
        Privacy="PUBLIC",
        Metadata=APP_METADATA,
        ClientRequestToken=TOKEN,
        ChimeBearer=arn_of(owner),
        ModeratorArns=[arn_of(owner)],
        ElasticChannelConfiguration={
            "MaximumSubChannels": 3,
            "TargetMembershipsPerSubChannel": 4,
            "MinimumMembershipPercentage": 25,
        },
    )
    chime.expect(
        "list_sub_channels",
        {"ChannelArn": ARN, "SubChannels": [{"SubChannelId": "sub-a", "MembershipCount": 0}]},
        ChannelArn=ARN,
        ChimeBearer=ADMIN_ARN,
        MaxResults=50,
    )
    chime.expect(
        "create_channel_membership",
        {"ChannelArn": ARN, "SubChannelId": "sub-a"},
        ChannelArn=ARN,
        MemberArn=arn_of(owner),
        Type="DEFAULT",
        SubChannelId="sub-a",
        ChimeBearer=arn_of(owner),
    )
    channel = channels.create_channel(
        actor=owner,
        name="Crowd",
        privacy=Privacy.PUBLIC,
        channel_type=ChannelType.ELASTIC,
        maximum_subchannels=3,
        target_memberships_per_subchannel=4,
        minimum_membership_percentage=25,
    )
    [first] = SubChannel.objects.filter(channel=channel)
    assert (first.number, first.chime_id) == (1, "sub-a")
    assert ModeratorSeat.objects.get(membership__user=owner).subchannel == first


@pytest.mark.parametrize(
    ("code", "status", "error"),
    [
        ("ForbiddenException", 403, NotAllowed),
        ("BadRequestException", 400, InvalidRequest),
        ("ConflictException", 409, InvalidRequest),
        ("ResourceLimitExceededException", 400, InvalidRequest),
        ("ThrottledClientException", 429, BackendUnavailable),
        ("ServiceUnavailableException", 503, BackendUnavailable),
        ("UnauthorizedClientException", 401, BackendUnavailable),
    ],
)
def test_a_refused_create_writes_nothing(chime, make_user, code, status, error):
    owner = chime.user(make_user, "owner")
    chime.refuse("create_channel", code, status)
    with pytest.raises(error):
        channels.create_channel(actor=owner, name="Knitting", privacy=Privacy.PRIVATE)
    assert not Channel.objects.exists()


def test_a_person_without_an_app_instance_user_gets_one_before_their_first_call(chime, make_user):
    owner = make_user("owner")
    user_id = f"user-{owner.pk}"
    chime.identity.add_client_error(
        "create_app_instance_user",
        "ConflictException",
        "exists",
        409,
        expected_params={
            "AppInstanceArn": APP_INSTANCE_ARN,
            "AppInstanceUserId": user_id,
            "Name": "owner",
            "ClientRequestToken": TOKEN,
        },
    )
    create(chime, owner)
    owner.profile.refresh_from_db()
    assert owner.profile.chime_arn == f"{APP_INSTANCE_ARN}/user/{user_id}"


def test_members_are_added_one_by_one_or_in_batches_of_a_hundred(chime, make_user):
    owner = chime.user(make_user, "owner")
    channel = create(chime, owner)
    ann = chime.user(make_user, "ann")
    chime.expect(
        "create_channel_membership",
        {"ChannelArn": ARN},
        ChannelArn=ARN,
        MemberArn=arn_of(ann),
        Type="DEFAULT",
        ChimeBearer=arn_of(owner),
    )
    memberships.add_members(actor=owner, channel=channel, users=[ann])
    crowd = [chime.user(make_user, f"p{index}") for index in range(150)]
    for chunk in (crowd[:100], crowd[100:]):
        chime.expect(
            "batch_create_channel_membership",
            {"BatchChannelMemberships": {"ChannelArn": ARN}, "Errors": []},
            ChannelArn=ARN,
            Type="DEFAULT",
            MemberArns=[arn_of(user) for user in chunk],
            ChimeBearer=arn_of(owner),
        )
    memberships.add_members(actor=owner, channel=channel, users=crowd)
    assert Membership.objects.filter(channel=channel).count() == 152


@pytest.mark.parametrize(
    ("code", "error"), [("Forbidden", NotAllowed), ("NotFound", InvalidRequest), ("Throttled", InvalidRequest)]
)
def test_a_batch_with_refused_members_adds_nobody_here(chime, make_user, code, error):
    owner = chime.user(make_user, "owner")
    channel = create(chime, owner)
    people = [chime.user(make_user, name) for name in ("ann", "bob")]
    chime.expect(
        "batch_create_channel_membership",
        {"Errors": [{"MemberArn": arn_of(people[1]), "ErrorCode": code, "ErrorMessage": "no"}]},
    )
    with pytest.raises(error):
        memberships.add_members(actor=owner, channel=channel, users=people)
    assert Membership.objects.filter(channel=channel).count() == 1


def test_chime_places_members_of_elastic_channels_and_we_follow(chime, make_user, settings):
    owner = chime.user(make_user, "owner")
    channel = chime.elastic_channel(owner, channel_arn=ARN)
    ann, bob = chime.user(make_user, "ann"), chime.user(make_user, "bob")
    # One joiner: CreateChannelMembership tells where; a batch: DescribeChannelMembership, each.
    chime.expect("create_channel_membership", {"ChannelArn": ARN, "SubChannelId": "sub-b"})
    memberships.join_channel(actor=ann, channel=channel)
    chime.expect("batch_create_channel_membership", {"Errors": []})
    chime.expect(
        "describe_channel_membership",
        {"ChannelMembership": {"SubChannelId": "sub-a"}},
        ChannelArn=ARN,
        MemberArn=arn_of(bob),
        ChimeBearer=ADMIN_ARN,
    )
    carl = chime.user(make_user, "carl")
    chime.expect("describe_channel_membership", {"ChannelMembership": {"SubChannelId": "sub-b"}})
    memberships.add_members(actor=owner, channel=channel, users=[bob, carl])
    seats = {m.user.username: m.subchannel.chime_id for m in Membership.objects.filter(role=Role.MEMBER)}
    assert seats == {"ann": "sub-b", "bob": "sub-a", "carl": "sub-b"}
    assert dict(SubChannel.objects.values_list("chime_id", "member_count")) == {"sub-a": 1, "sub-b": 2}
    # Leaving frees the seat; Chime, not us, decides whether to scale in.
    chime.expect("delete_channel_membership", {}, ChannelArn=ARN, MemberArn=arn_of(ann), ChimeBearer=arn_of(ann))
    memberships.leave_channel(actor=ann, channel=channel)
    assert SubChannel.objects.get(chime_id="sub-b").member_count == 1
    assert SubChannel.objects.filter(is_open=True).count() == 2


def test_a_full_elastic_channel_is_channel_full(chime, make_user):
    owner = chime.user(make_user, "owner")
    chime.expect("create_channel", {"ChannelArn": ARN})
    chime.expect("list_sub_channels", {"SubChannels": []})
    channel = channels.create_channel(
        actor=owner,
        name="Crowd",
        privacy=Privacy.PUBLIC,
        channel_type=ChannelType.ELASTIC,
        maximum_subchannels=2,
        target_memberships_per_subchannel=2,
        minimum_membership_percentage=25,
    )
    ann = chime.user(make_user, "ann")
    chime.refuse("create_channel_membership", "ResourceLimitExceededException")
    with pytest.raises(ChannelFull):
        memberships.join_channel(actor=ann, channel=channel)
    assert not Membership.objects.filter(user=ann).exists()


def test_moderators_act_as_themselves_and_administrators_as_the_app(chime, make_user):
    owner = chime.user(make_user, "owner")
    channel = create(chime, owner)
    ann, bob = chime.user(make_user, "ann"), chime.user(make_user, "bob")
    boss = chime.user(make_user, "boss", is_staff=True, is_superuser=True)
    Membership.objects.bulk_create([Membership(channel=channel, user=ann), Membership(channel=channel, user=bob)])
    calls = [
        ("create_channel_moderator", {"ChannelModeratorArn": arn_of(ann), "ChimeBearer": arn_of(owner)}),
        ("delete_channel_moderator", {"ChannelModeratorArn": arn_of(ann), "ChimeBearer": ADMIN_ARN}),
        ("delete_channel_membership", {"MemberArn": arn_of(bob), "ChimeBearer": ADMIN_ARN}),
        ("create_channel_ban", {"MemberArn": arn_of(bob), "ChimeBearer": arn_of(owner)}),
        ("delete_channel_ban", {"MemberArn": arn_of(bob), "ChimeBearer": ADMIN_ARN}),
        ("update_channel", {"Name": "Purling", "Mode": "RESTRICTED", "ChimeBearer": arn_of(owner)}),
        ("delete_channel", {"ChimeBearer": ADMIN_ARN}),
    ]
    for operation, params in calls:
        chime.expect(operation, {} if operation.startswith("delete") else {"ChannelArn": ARN}, ChannelArn=ARN, **params)
    memberships.promote_moderator(actor=owner, channel=channel, user=ann)
    memberships.demote_moderator(actor=boss, channel=channel, user=ann)
    memberships.remove_member(actor=boss, channel=channel, user=bob)
    memberships.ban_user(actor=owner, channel=channel, user=bob)
    memberships.unban_user(actor=boss, channel=channel, user=bob)
    channels.update_channel(actor=owner, channel=channel, name="Purling", mode="restricted")
    channels.delete_channel(actor=boss, channel=channel)
    assert not Channel.objects.exists()


@pytest.mark.parametrize(
    ("change", "operation"),
    [
        ("promote", "create_channel_moderator"),
        ("remove", "delete_channel_membership"),
        ("ban", "create_channel_ban"),
        ("rename", "update_channel"),
        ("delete", "delete_channel"),
        ("leave", "delete_channel_membership"),
    ],
)
@pytest.mark.parametrize(
    ("code", "status", "error"),
    [
        ("ForbiddenException", 403, NotAllowed),
        ("BadRequestException", 400, InvalidRequest),
        ("ThrottledClientException", 429, BackendUnavailable),
        ("ServiceFailureException", 500, BackendUnavailable),
    ],
)
def test_a_refusal_leaves_our_database_as_it_was(chime, make_user, change, operation, code, status, error):
    owner = chime.user(make_user, "owner")
    channel = create(chime, owner)
    ann = chime.user(make_user, "ann")
    Membership.objects.create(channel=channel, user=ann)
    before = (
        list(Membership.objects.order_by("pk").values_list("user_id", "role")),
        list(Ban.objects.values_list("user_id")),
        Channel.objects.get().name,
    )
    chime.refuse(operation, code, status)
    actions = {
        "promote": lambda: memberships.promote_moderator(actor=owner, channel=channel, user=ann),
        "remove": lambda: memberships.remove_member(actor=owner, channel=channel, user=ann),
        "ban": lambda: memberships.ban_user(actor=owner, channel=channel, user=ann),
        "rename": lambda: channels.update_channel(actor=owner, channel=channel, name="Other"),
        "delete": lambda: channels.delete_channel(actor=owner, channel=channel),
        "leave": lambda: memberships.leave_channel(actor=ann, channel=channel),
    }
    with pytest.raises(error):
        actions[change]()
    after = (
        list(Membership.objects.order_by("pk").values_list("user_id", "role")),
        list(Ban.objects.values_list("user_id")),
        Channel.objects.get().name,
    )
    assert after == before


def test_direct_messages_are_private_channels_whose_members_the_app_adds(chime, make_user):
    ann, bob = chime.user(make_user, "ann"), chime.user(make_user, "bob")
    chime.expect(
        "create_channel",
        {"ChannelArn": ARN},
        AppInstanceArn=APP_INSTANCE_ARN,
        Name="ann, bob",
        Mode="RESTRICTED",
        Privacy="PRIVATE",
        Metadata=APP_METADATA,
        ClientRequestToken=TOKEN,
        ChimeBearer=arn_of(bob),
    )
    chime.expect(
        "batch_create_channel_membership",
        {"Errors": []},
        ChannelArn=ARN,
        Type="DEFAULT",
        MemberArns=[arn_of(ann), arn_of(bob)],
        ChimeBearer=ADMIN_ARN,
    )
    channel = channels.open_direct_channel(actor=bob, other=ann)
    assert channel.chime_arn == ARN
    assert Membership.objects.filter(channel=channel).count() == 2


def test_a_moderator_takes_a_seat_in_a_named_subchannel_only(chime, make_user):
    owner = chime.user(make_user, "owner")
    chime.expect("create_channel", {"ChannelArn": ARN})
    chime.expect("list_sub_channels", {"SubChannels": [{"SubChannelId": "sub-a"}, {"SubChannelId": "sub-b"}]})
    chime.expect("create_channel_membership", {"ChannelArn": ARN})
    channel = channels.create_channel(
        actor=owner,
        name="Crowd",
        privacy=Privacy.PUBLIC,
        channel_type=ChannelType.ELASTIC,
        maximum_subchannels=3,
        target_memberships_per_subchannel=2,
        minimum_membership_percentage=25,
    )
    second = SubChannel.objects.get(chime_id="sub-b")
    chime.expect(
        "create_channel_membership",
        {"ChannelArn": ARN, "SubChannelId": "sub-b"},
        ChannelArn=ARN,
        MemberArn=arn_of(owner),
        Type="DEFAULT",
        SubChannelId="sub-b",
        ChimeBearer=arn_of(owner),
    )
    elastic.join_subchannel(actor=owner, channel=channel, subchannel=second)
    unnamed = SubChannel.objects.create(channel=channel, number=3)
    with pytest.raises(InvalidRequest):
        elastic.join_subchannel(actor=owner, channel=channel, subchannel=unnamed)
    assert ModeratorSeat.objects.filter(membership__user=owner).count() == 2


def test_a_channel_not_yet_moved_to_chime_is_refused_until_provisioned(chime, make_user):
    owner = chime.user(make_user, "owner")
    channel = Channel.objects.create(name="Old", privacy=Privacy.PUBLIC, created_by=owner)
    Membership.objects.create(channel=channel, user=owner, role=Role.MODERATOR)
    with pytest.raises(BackendUnavailable, match="chime_sync --provision"):
        channels.update_channel(actor=owner, channel=channel, name="New")
    assert Channel.objects.get().name == "Old"
