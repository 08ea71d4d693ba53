"""Elastic channels: placement, scale-out, the maximum, scale-in with history, moderators, concurrency."""

from __future__ import annotations

import threading

import pytest
from django.db import connection

from chat.exceptions import ChannelFull, InvalidRequest, NotAllowed
from chat.models import Channel, Membership, Message, ModeratorSeat, Role, SubChannel
from chat.services import elastic
from chat.services.memberships import (
    add_members,
    ban_user,
    demote_moderator,
    join_channel,
    leave_channel,
    promote_moderator,
    remove_member,
)
from hobbies.accounts.models import User


def counts(channel: Channel) -> dict[int, int]:
    """Open sub-channel number -> member_count, checked against the real number of seated members."""
    result = {}
    for subchannel in SubChannel.objects.filter(channel=channel, is_open=True).order_by("number"):
        assert subchannel.member_count == Membership.objects.filter(subchannel=subchannel).count()
        result[subchannel.number] = subchannel.member_count
    return result


def people(make_user, count: int, prefix: str = "user") -> list:
    return [make_user(f"{prefix}{index}") for index in range(count)]


@pytest.mark.django_db
def test_creator_moderates_and_sits_in_the_first_subchannel_without_using_a_seat(make_user, make_elastic):
    owner = make_user("owner")
    channel = make_elastic(owner)
    membership = Membership.objects.get(channel=channel, user=owner)
    assert membership.role == Role.MODERATOR and membership.subchannel is None
    assert [seat.subchannel.number for seat in ModeratorSeat.objects.filter(membership=membership)] == [1]
    assert counts(channel) == {1: 0}


@pytest.mark.django_db
def test_members_fill_a_subchannel_then_scale_out_opens_the_next(
    make_user, make_elastic, published, django_capture_on_commit_callbacks
):
    channel = make_elastic(make_user("owner"), maximum=3, target=4)
    joiners = people(make_user, 9)
    with django_capture_on_commit_callbacks(execute=True):
        for user in joiners:
            join_channel(actor=user, channel=channel)
    assert counts(channel) == {1: 4, 2: 4, 3: 1}
    opened = [event["number"] for event in published if event["type"] == "subchannel.opened"]
    assert opened == [2, 3]


@pytest.mark.django_db
def test_joining_a_full_elastic_channel_is_refused_clearly(make_user, make_elastic):
    channel = make_elastic(make_user("owner"), name="Chess", maximum=2, target=2)
    for user in people(make_user, 4):
        join_channel(actor=user, channel=channel)
    late = make_user("late")
    with pytest.raises(ChannelFull) as refusal:
        join_channel(actor=late, channel=channel)
    assert str(refusal.value) == (
        "“Chess” is full: all 2 sub-channels hold 2 members each (4 in all). Try again when someone leaves."
    )
    assert not Membership.objects.filter(user=late).exists()
    assert SubChannel.objects.filter(channel=channel).count() == 2


@pytest.mark.django_db
def test_adding_more_members_than_the_capacity_adds_none(make_user, make_elastic):
    owner = make_user("owner")
    channel = make_elastic(owner, maximum=2, target=2)
    with pytest.raises(ChannelFull):
        add_members(actor=owner, channel=channel, users=people(make_user, 5))
    assert Membership.objects.filter(channel=channel).count() == 1
    assert counts(channel) == {1: 0}


@pytest.mark.django_db
def test_add_members_in_bulk_places_each_one(make_user, make_elastic):
    owner = make_user("owner")
    channel = make_elastic(owner, maximum=4, target=3)
    add_members(actor=owner, channel=channel, users=people(make_user, 10))
    assert counts(channel) == {1: 3, 2: 3, 3: 3, 4: 1}


@pytest.mark.django_db
def test_scale_in_merges_a_thin_subchannel_and_moves_its_messages(
    make_user, make_elastic, published, django_capture_on_commit_callbacks
):
    owner = make_user("owner")
    # Target 4, minimum 40%: a sub-channel with fewer than 1.6 members is merged.
    channel = make_elastic(owner, maximum=3, target=4, minimum_percentage=40)
    members = people(make_user, 6)
    add_members(actor=owner, channel=channel, users=members)
    assert counts(channel) == {1: 4, 2: 2}
    first, second = SubChannel.objects.filter(channel=channel).order_by("number")
    stayer, leaver = Membership.objects.filter(subchannel=second).select_related("user")
    Message.objects.create(channel=channel, subchannel=second, author=leaver.user, content="before the merge")
    Message.objects.create(channel=channel, subchannel=first, author=owner, content="in the first")
    # Make room in #1 so that #2's last member fits there once #2 thins out.
    leave_channel(actor=Membership.objects.filter(subchannel=first).first().user, channel=channel)

    with django_capture_on_commit_callbacks(execute=True):
        leave_channel(actor=leaver.user, channel=channel)

    second.refresh_from_db()
    assert (second.is_open, second.merged_into_id, second.member_count) == (False, first.pk, 0)
    assert counts(channel) == {1: 4}
    assert Membership.objects.get(user=stayer.user).subchannel == first
    # History kept: nothing deleted, everything now in the surviving sub-channel.
    assert list(Message.objects.filter(channel=channel).values_list("content", "subchannel__number")) == [
        ("before the merge", 1),
        ("in the first", 1),
    ]
    moved = [event for event in published if event["type"] == "membership.moved"]
    assert moved == [
        {"type": "membership.moved", "channel_id": channel.pk, "user_id": stayer.user.pk, "from": 2, "to": 1,
         "subchannel_id": first.pk}
    ]  # fmt: skip
    assert any(event["type"] == "subchannel.merged" and event["messages"] == 1 for event in published)


@pytest.mark.django_db
def test_moderators_are_never_moved_by_a_merge(make_user, make_elastic):
    owner = make_user("owner")
    channel = make_elastic(owner, maximum=3, target=4, minimum_percentage=40)
    add_members(actor=owner, channel=channel, users=people(make_user, 5))
    second = SubChannel.objects.get(channel=channel, number=2)
    elastic.join_subchannel(actor=owner, channel=channel, subchannel=second)
    seats_before = set(ModeratorSeat.objects.values_list("membership_id", "subchannel_id"))
    remove_member(actor=owner, channel=channel, user=Membership.objects.get(subchannel=second).user)
    second.refresh_from_db()
    assert not second.is_open  # #2 emptied and was merged away...
    assert (
        set(ModeratorSeat.objects.values_list("membership_id", "subchannel_id")) == seats_before
    )  # ...seats untouched


@pytest.mark.django_db
def test_no_merge_without_a_subchannel_that_has_room(make_user, make_elastic):
    owner = make_user("owner")
    channel = make_elastic(owner, maximum=2, target=2, minimum_percentage=40)
    members = people(make_user, 4)
    add_members(actor=owner, channel=channel, users=members)
    leaver = Membership.objects.filter(subchannel__number=2).first().user
    leave_channel(actor=leaver, channel=channel)
    # #2 holds 1 of 2 (>= 0.8): not thin, no merge.
    assert counts(channel) == {1: 2, 2: 1}


@pytest.mark.django_db
def test_a_closed_subchannel_reopens_on_scale_out(make_user, make_elastic):
    owner = make_user("owner")
    channel = make_elastic(owner, maximum=2, target=2, minimum_percentage=40)
    first_pair = people(make_user, 3, prefix="a")
    add_members(actor=owner, channel=channel, users=first_pair)
    ban_user(actor=owner, channel=channel, user=Membership.objects.get(subchannel__number=2).user)
    assert counts(channel) == {1: 2}
    add_members(actor=owner, channel=channel, users=people(make_user, 1, prefix="b"))
    assert counts(channel) == {1: 2, 2: 1}
    assert SubChannel.objects.filter(channel=channel).count() == 2


@pytest.mark.django_db
def test_promotion_frees_the_seat_and_demotion_takes_one(make_user, make_elastic):
    owner = make_user("owner")
    channel = make_elastic(owner, maximum=2, target=2)
    alice, bob = people(make_user, 2)
    add_members(actor=owner, channel=channel, users=[alice, bob])
    promote_moderator(actor=owner, channel=channel, user=alice)
    membership = Membership.objects.get(user=alice)
    assert membership.subchannel is None and membership.moderator_seats.get().subchannel.number == 1
    assert counts(channel) == {1: 1}
    demote_moderator(actor=owner, channel=channel, user=alice)
    membership.refresh_from_db()
    assert membership.subchannel.number == 1 and not membership.moderator_seats.exists()
    assert counts(channel) == {1: 2}


@pytest.mark.django_db
def test_only_moderators_join_subchannels_and_only_open_ones(make_user, make_elastic):
    owner, member = make_user("owner"), make_user("member")
    channel = make_elastic(owner, maximum=3, target=2)
    join_channel(actor=member, channel=channel)
    first = SubChannel.objects.get(channel=channel, number=1)
    with pytest.raises(NotAllowed):
        elastic.join_subchannel(actor=member, channel=channel, subchannel=first)
    closed = SubChannel.objects.create(channel=channel, number=9, is_open=False)
    with pytest.raises(InvalidRequest):
        elastic.join_subchannel(actor=owner, channel=channel, subchannel=closed)
    assert elastic.join_subchannel(actor=owner, channel=channel, subchannel=first).subchannel == first


@pytest.mark.django_db
def test_placement_takes_constant_queries_with_ten_thousand_members(
    make_user, make_elastic, django_assert_max_num_queries
):
    owner = make_user("owner")
    channel = make_elastic(owner, maximum=1000, target=1000)
    users = [make_user(f"bulk{index}") for index in range(2)]
    # 10,000 memberships spread over 10 full sub-channels, inserted in bulk.
    User.objects.bulk_create([User(username=f"filler{index:05d}") for index in range(10_000)], batch_size=2000)
    fillers = list(User.objects.filter(username__startswith="filler").values_list("pk", flat=True))
    subchannels = SubChannel.objects.bulk_create(
        [SubChannel(channel=channel, number=number, member_count=1000) for number in range(2, 12)]
    )
    Membership.objects.bulk_create(
        [
            Membership(channel=channel, user_id=user_id, subchannel=subchannels[index // 1000])
            for index, user_id in enumerate(fillers)
        ],
        batch_size=2000,
    )
    assert Membership.objects.filter(channel=channel).count() == 10_001

    # Each bound includes the three queries that record the member.joined/left stream event.
    with django_assert_max_num_queries(12):
        join_channel(actor=users[0], channel=channel)  # room in #1
    SubChannel.objects.filter(channel=channel, number=1).update(member_count=1000)
    with django_assert_max_num_queries(23):
        join_channel(actor=users[1], channel=channel)  # all full: scale out to #12
    assert Membership.objects.get(user=users[1]).subchannel.number == 12
    with django_assert_max_num_queries(26):
        leave_channel(actor=users[1], channel=channel)  # #12 empties and is merged (closed)


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("attempt", range(3))
def test_two_people_joining_the_last_free_seat_cannot_overfill(make_user, make_elastic, attempt):
    owner = make_user("owner")
    channel = make_elastic(owner, maximum=2, target=2)
    add_members(actor=owner, channel=channel, users=people(make_user, 3))
    racers = [make_user("racer1"), make_user("racer2")]
    barrier = threading.Barrier(2)
    outcomes = []

    def join(user):
        barrier.wait()
        try:
            join_channel(actor=user, channel=Channel.objects.get(pk=channel.pk))
            outcomes.append("joined")
        except ChannelFull:
            outcomes.append("full")
        finally:
            connection.close()

    threads = [threading.Thread(target=join, args=(user,)) for user in racers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["full", "joined"]
    assert counts(channel) == {1: 2, 2: 2}
    assert Membership.objects.filter(channel=channel, role=Role.MEMBER).count() == 4


@pytest.mark.django_db
def test_a_merge_appends_history_to_the_target_stream_with_contiguous_seqs(make_user, make_elastic):
    import uuid

    from chat import events
    from chat.models import ReadMarker, StreamEvent
    from chat.services import messages as message_service
    from chat.services import read_markers
    from chat.streams import StreamKey

    owner = make_user("owner")
    channel = make_elastic(owner, maximum=3, target=4, minimum_percentage=40)
    add_members(actor=owner, channel=channel, users=people(make_user, 6))
    first, second = SubChannel.objects.filter(channel=channel).order_by("number")
    stayer, leaver = [m.user for m in Membership.objects.filter(subchannel=second).select_related("user")]

    def say(user, text):
        return message_service.send_message(
            actor=user, channel_id=channel.pk, content=text, client_msg_id=uuid.uuid4()
        ).message

    say(owner, "in the first")
    old_key, new_key = StreamKey(channel.pk, second.pk), StreamKey(channel.pk, first.pk)
    read_one = say(leaver, "second: one")
    say(leaver, "second: two")
    read_markers.mark_read(actor=stayer, key=old_key, seq=read_one.seq)  # the stayer has one unread
    leave_channel(actor=Membership.objects.filter(subchannel=first).exclude(user=owner).first().user, channel=channel)
    leave_channel(actor=leaver, channel=channel)

    moved = list(Message.objects.filter(content__startswith="second").order_by("seq"))
    assert {message.stream_id for message in moved} == {str(new_key)}
    seqs = list(StreamEvent.objects.filter(stream_id=str(new_key)).order_by("seq").values_list("seq", flat=True))
    assert seqs == list(range(1, len(seqs) + 1))
    assert seqs[-1] == events.last_seq(new_key)
    assert StreamEvent.objects.filter(stream_id=str(new_key)).latest("seq").type in {"stream.merged", "member.left"}
    assert [m.content for m in moved] == ["second: one", "second: two"]
    assert read_markers.unread_counts(stayer, [new_key]) == {str(new_key): 1}
    assert ReadMarker.objects.filter(user=stayer, stream_id=str(new_key)).exists()
