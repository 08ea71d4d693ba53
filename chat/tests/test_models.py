"""Database constraints hold even for writes that skip the services."""

from __future__ import annotations

import pytest
from django.db import IntegrityError, transaction

from chat.models import Ban, Channel, ChannelType, Membership, Mode, Privacy, Role, SubChannel

ELASTIC = {"channel_type": ChannelType.ELASTIC, "privacy": Privacy.PUBLIC}


@pytest.mark.django_db
@pytest.mark.parametrize(
    "fields",
    [
        {"privacy": "secret"},
        {"privacy": Privacy.PUBLIC, "mode": Mode.UNRESTRICTED},
        {
            **ELASTIC,
            "maximum_subchannels": 1,
            "target_memberships_per_subchannel": 4,
            "minimum_membership_percentage": 40,
        },
        {
            **ELASTIC,
            "maximum_subchannels": 2,
            "target_memberships_per_subchannel": 1001,
            "minimum_membership_percentage": 40,
        },
        {
            **ELASTIC,
            "maximum_subchannels": 2,
            "target_memberships_per_subchannel": 4,
            "minimum_membership_percentage": 41,
        },
        {
            **ELASTIC,
            "maximum_subchannels": 2,
            "target_memberships_per_subchannel": 4,
            "minimum_membership_percentage": 0,
        },
        {
            **ELASTIC,
            "maximum_subchannels": 1001,
            "target_memberships_per_subchannel": 1000,
            "minimum_membership_percentage": 1,
        },
        {**ELASTIC},
        {"privacy": Privacy.PRIVATE, "maximum_subchannels": 2},
        {"privacy": Privacy.PUBLIC, "is_direct": True},
    ],
)
def test_check_constraints_refuse_invalid_channels(fields):
    with pytest.raises(IntegrityError), transaction.atomic():
        Channel.objects.create(name="x", **{"privacy": Privacy.PRIVATE, **fields})


@pytest.mark.django_db
def test_one_membership_and_one_ban_per_person_and_channel(member):
    channel = Channel.objects.create(name="x", privacy=Privacy.PUBLIC)
    Membership.objects.create(channel=channel, user=member)
    Ban.objects.create(channel=channel, user=member)
    with pytest.raises(IntegrityError), transaction.atomic():
        Membership.objects.create(channel=channel, user=member, role=Role.MODERATOR)
    with pytest.raises(IntegrityError), transaction.atomic():
        Ban.objects.create(channel=channel, user=member)


@pytest.mark.django_db
def test_moderators_hold_no_member_seat_and_closed_subchannels_are_empty(member):
    channel = Channel.objects.create(
        name="x",
        privacy=Privacy.PUBLIC,
        channel_type=ChannelType.ELASTIC,
        maximum_subchannels=2,
        target_memberships_per_subchannel=2,
        minimum_membership_percentage=40,
    )
    subchannel = SubChannel.objects.create(channel=channel, number=1)
    with pytest.raises(IntegrityError), transaction.atomic():
        Membership.objects.create(channel=channel, user=member, role=Role.MODERATOR, subchannel=subchannel)
    with pytest.raises(IntegrityError), transaction.atomic():
        SubChannel.objects.create(channel=channel, number=2, is_open=False, member_count=1)
    with pytest.raises(IntegrityError), transaction.atomic():
        SubChannel.objects.create(channel=channel, number=1)
