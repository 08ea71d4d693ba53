"""Elastic channels: seats, scale-out, scale-in, and moderators choosing sub-channels.

Placement reads and writes a constant number of sub-channel rows whatever the channel's size:
``SubChannel.member_count`` is the seat counter, taken with an optimistic conditional UPDATE
(``WHERE member_count = <seen>``) so two joins can never fill the same last seat, on SQLite
(where IMMEDIATE transactions queue anyway) as on PostgreSQL. Only the rare scale-out locks the
channel row, so two sub-channels are never opened past the maximum.
"""

from __future__ import annotations

from django.db import IntegrityError, transaction
from django.db.models import F, Max

from chat import policy
from chat.backends import get_backend
from chat.events import publish_on_commit
from chat.exceptions import ChannelFull, ChatError, InvalidRequest, NotAllowed
from chat.models import Channel, Membership, ModeratorSeat, SubChannel
from chat.services.access import require_visible
from chat.services.streams import merge_streams

# Each failed optimistic update means another join won that seat; give up only under absurd contention.
MAX_PLACEMENT_ATTEMPTS = 50


def open_first_subchannel(channel: Channel, backend_ids: tuple[str, ...] = ()) -> SubChannel:
    """Sub-channel 1 (a new channel's moderator sits there); with MESSAGING_BACKEND=chime, one row
    per sub-channel Chime already holds, the first named after Chime's first."""
    first = SubChannel.objects.create(channel=channel, number=1, chime_id=backend_ids[0] if backend_ids else None)
    for number, chime_id in enumerate(backend_ids[1:], start=2):
        SubChannel.objects.create(channel=channel, number=number, chime_id=chime_id)
    return first


def seats_from_placements(*, channel: Channel, placed: list[str | None]) -> list[int]:
    """Seats the messaging backend chose (Chime places the members of elastic channels): one
    sub-channel id per entry; an entry the backend left unknown is placed by us."""
    seats: list[int] = []
    for chime_id in placed:
        if chime_id is None:
            seats.extend(take_seats(channel=channel, count=1))
            continue
        subchannel = subchannel_for_backend_id(channel, chime_id)
        SubChannel.objects.filter(pk=subchannel.pk).update(member_count=F("member_count") + 1, is_open=True)
        seats.append(subchannel.pk)
    return seats


def subchannel_for_backend_id(channel: Channel, chime_id: str) -> SubChannel:
    """Our sub-channel for one of Chime's: found, or an open one Chime had not named yet, or opened."""
    found = SubChannel.objects.filter(channel=channel, chime_id=chime_id).first()
    if found is not None:
        return found
    _lock_channel(channel)
    unnamed = SubChannel.objects.filter(channel=channel, chime_id__isnull=True, is_open=True).order_by("number").first()
    if unnamed is not None:
        unnamed.chime_id = chime_id
        unnamed.save(update_fields=["chime_id"])
        return unnamed
    highest = SubChannel.objects.filter(channel=channel).aggregate(highest=Max("number"))["highest"] or 0
    try:
        with transaction.atomic():
            subchannel = SubChannel.objects.create(channel=channel, number=highest + 1, chime_id=chime_id)
    except IntegrityError:
        return SubChannel.objects.get(channel=channel, chime_id=chime_id)
    publish_on_commit(channel, "subchannel.opened", {"subchannel_id": subchannel.pk, "number": subchannel.number})
    return subchannel


def take_seats(*, channel: Channel, count: int) -> list[int]:
    """Reserve `count` member seats; returns one sub-channel id per seat.

    Fills the fullest sub-channel that still has room first, so a new one opens only when all are full.
    Call inside a transaction: the seats belong to the memberships created with them.
    """
    target = channel.target_memberships_per_subchannel
    seats: list[int] = []
    failed_attempts = 0
    while len(seats) < count:
        room = (
            SubChannel.objects.filter(channel=channel, is_open=True, member_count__lt=target)
            .order_by("-member_count", "number")
            .values_list("pk", "member_count")
            .first()
        )
        if room is None:
            _scale_out(channel)
            continue
        subchannel_id, seen = room
        taken = min(target - seen, count - len(seats))
        won = SubChannel.objects.filter(pk=subchannel_id, is_open=True, member_count=seen).update(
            member_count=seen + taken
        )
        if won:
            seats.extend([subchannel_id] * taken)
            continue
        failed_attempts += 1
        if failed_attempts >= MAX_PLACEMENT_ATTEMPTS:
            raise ChatError("This channel is very busy right now. Try again in a moment.")
    return seats


def _scale_out(channel: Channel) -> None:
    """Open a sub-channel (reopening a merged one first), or refuse when the maximum is reached."""
    # Serialise scale-out per channel, then look again: another join may just have opened one.
    _lock_channel(channel)
    target = channel.target_memberships_per_subchannel
    if SubChannel.objects.filter(channel=channel, is_open=True, member_count__lt=target).exists():
        return
    open_count = SubChannel.objects.filter(channel=channel, is_open=True).count()
    if open_count >= channel.maximum_subchannels:
        raise ChannelFull(
            f"“{channel.name}” is full: all {channel.maximum_subchannels} sub-channels hold "
            f"{target} members each ({channel.capacity:,} in all). Try again when someone leaves."
        )
    subchannel = SubChannel.objects.filter(channel=channel, is_open=False).order_by("number").first()
    if subchannel is not None:
        subchannel.is_open = True
        subchannel.merged_into = None
        subchannel.save(update_fields=["is_open", "merged_into"])
    else:
        highest = SubChannel.objects.filter(channel=channel).aggregate(highest=Max("number"))["highest"] or 0
        subchannel = SubChannel.objects.create(channel=channel, number=highest + 1)
    publish_on_commit(channel, "subchannel.opened", {"subchannel_id": subchannel.pk, "number": subchannel.number})


def _lock_channel(channel: Channel) -> None:
    Channel.objects.select_for_update().filter(pk=channel.pk).values_list("pk", flat=True).get()


def _is_thin(channel: Channel, subchannel: SubChannel) -> bool:
    return subchannel.is_open and subchannel.member_count < channel.scale_in_threshold


def release_seat(*, channel: Channel, subchannel_id: int) -> None:
    SubChannel.objects.filter(pk=subchannel_id).update(member_count=F("member_count") - 1)
    if get_backend().places_members:
        return  # Chime scales in by itself and says so on its event stream (chat/services/mirror_channels.py)
    merge_if_below_minimum(channel=channel, subchannel_id=subchannel_id)


def merge_if_below_minimum(*, channel: Channel, subchannel_id: int) -> SubChannel | None:
    """Scale in: move the members and messages of a thin sub-channel into one with room.

    Nothing is deleted: the sub-channel is closed (and reopened by a later scale-out). Moderator
    seats stay where they are: balancing never moves moderators. Returns the sub-channel merged into.
    """
    if not _is_thin(channel, SubChannel.objects.get(pk=subchannel_id)):
        return None
    # Merges are rare: serialise them (and scale-outs) per channel, then look again under the locks.
    _lock_channel(channel)
    subchannel = SubChannel.objects.select_for_update().get(pk=subchannel_id)
    if not _is_thin(channel, subchannel):
        return None
    target = channel.target_memberships_per_subchannel
    into = (
        SubChannel.objects.select_for_update()
        .filter(channel=channel, is_open=True, member_count__lte=target - subchannel.member_count)
        .exclude(pk=subchannel.pk)
        .order_by("-member_count", "number")
        .first()
    )
    if into is None:
        return None
    return merge_subchannel(channel=channel, subchannel=subchannel, into=into)


def merge_away(*, channel: Channel, subchannel: SubChannel) -> SubChannel | None:
    """Close a sub-channel the messaging service deleted (Chime's scale-in): its members and history
    move into the fullest other open sub-channel. Returns it, or None when there is none."""
    _lock_channel(channel)
    subchannel = SubChannel.objects.select_for_update().get(pk=subchannel.pk)
    if not subchannel.is_open:
        return None
    into = (
        SubChannel.objects.select_for_update()
        .filter(channel=channel, is_open=True)
        .exclude(pk=subchannel.pk)
        .order_by("-member_count", "number")
        .first()
    )
    if into is None:
        return None
    return merge_subchannel(channel=channel, subchannel=subchannel, into=into)


def merge_subchannel(*, channel: Channel, subchannel: SubChannel, into: SubChannel) -> SubChannel:
    """Move a sub-channel's members and history into `into` and close it (locks held by the caller)."""
    # Fewer than the minimum (at most 400) members: small enough to name each one in an event.
    moved_user_ids = list(Membership.objects.filter(subchannel=subchannel).values_list("user_id", flat=True))
    Membership.objects.filter(subchannel=subchannel).update(subchannel=into)
    # History moves along, renumbered into the target stream so every seq stays contiguous.
    moved_messages = merge_streams(channel=channel, from_subchannel_id=subchannel.pk, into_subchannel_id=into.pk)
    SubChannel.objects.filter(pk=into.pk).update(member_count=F("member_count") + len(moved_user_ids))
    subchannel.member_count = 0
    subchannel.is_open = False
    subchannel.merged_into = into
    subchannel.save(update_fields=["member_count", "is_open", "merged_into"])
    publish_on_commit(
        channel,
        "subchannel.merged",
        {"from": subchannel.number, "into": into.number, "members": len(moved_user_ids), "messages": moved_messages},
    )
    for user_id in moved_user_ids:
        # The member moved by balancing is told where they now are.
        publish_on_commit(
            channel,
            "membership.moved",
            {"user_id": user_id, "from": subchannel.number, "to": into.number, "subchannel_id": into.pk},
        )
    return into


def join_subchannel(*, actor, channel: Channel, subchannel: SubChannel) -> ModeratorSeat:
    """A moderator of an elastic channel takes a seat in one more of its sub-channels."""
    with transaction.atomic():
        access = policy.access_for(actor, channel)
        require_visible(access)
        if not policy.can_join_subchannel(access):
            raise NotAllowed("Only moderators of an elastic channel choose the sub-channels they sit in.")
        if subchannel.channel_id != channel.pk or not subchannel.is_open:
            raise InvalidRequest("That sub-channel is not open.")
        if not ModeratorSeat.objects.filter(membership=access.membership, subchannel=subchannel).exists():
            get_backend().seat_moderator(channel, subchannel, actor=actor)
        seat, created = ModeratorSeat.objects.get_or_create(membership=access.membership, subchannel=subchannel)
        if created:
            publish_on_commit(
                channel,
                "moderator.seated",
                {"user_id": actor.pk, "subchannel_id": subchannel.pk, "number": subchannel.number},
            )
    return seat
