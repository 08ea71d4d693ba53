"""Joining, leaving, adding, removing, promoting, demoting, banning and unbanning."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from django.db import IntegrityError, transaction
from django.utils import timezone

from chat import policy
from chat.backends import get_backend
from chat.backends.base import Placements
from chat.events import publish_on_commit
from chat.exceptions import InvalidRequest, NotAllowed
from chat.models import Ban, Channel, Membership, ModeratorSeat, Role
from chat.services import elastic
from chat.services.access import backend_actor, require_visible
from chat.streams import StreamKey

BANNED_MESSAGE = "You are banned from this channel."
MAX_BAN_REASON = 500


def create_memberships(
    channel: Channel, users: list, *, role: str = Role.MEMBER, placements: Placements | None = None
) -> list[Membership]:
    """Insert memberships with their elastic seats, all or nothing. No policy: callers have checked.

    `placements`: the seats the messaging backend chose (MESSAGING_BACKEND=chime); else we place."""
    with transaction.atomic():
        seats = []
        if channel.is_elastic and role == Role.MEMBER:
            seats = (
                elastic.take_seats(channel=channel, count=len(users))
                if placements is None
                else elastic.seats_from_placements(channel=channel, placed=[placements.get(u.pk) for u in users])
            )
        rows = [
            Membership(user=user, channel=channel, role=role, subchannel_id=seats[index] if seats else None)
            for index, user in enumerate(users)
        ]
        return Membership.objects.bulk_create(rows)


def delete_membership(membership: Membership, channel: Channel) -> list[str]:
    """Remove a membership (and its seat); returns the stream keys the person followed there."""
    streams = [str(key) for key in member_streams(channel, membership)]
    subchannel_id = membership.subchannel_id
    membership.delete()
    if subchannel_id is not None:
        elastic.release_seat(channel=channel, subchannel_id=subchannel_id)
    return streams


def backend_add(channel: Channel, users: list, *, actor) -> Placements | None:
    """Add people in the messaging backend; returns its placements when it places members itself."""
    backend = get_backend()
    placements = backend.add_members(channel, users, actor=actor)
    return placements if backend.places_members else None


def member_streams(channel: Channel, membership: Membership) -> list[StreamKey]:
    if not channel.is_elastic:
        return [StreamKey(channel.pk)]
    if membership.subchannel_id is not None:
        return [StreamKey(channel.pk, membership.subchannel_id)]
    seats = ModeratorSeat.objects.filter(membership=membership).values_list("subchannel_id", flat=True)
    return [StreamKey(channel.pk, subchannel_id) for subchannel_id in seats]


def join_channel(*, actor, channel: Channel) -> Membership:
    """Join a public channel; returns the existing membership if already a member.

    The messaging work calls this when a non-member sends to a public channel.
    Raises ChannelNotFound (invisible), NotAllowed (private, banned), ChannelFull (elastic at capacity).
    """
    with transaction.atomic():
        access = policy.access_for(actor, channel)
        require_visible(access)
        if access.membership is not None:
            return access.membership
        if access.is_banned:
            raise NotAllowed(BANNED_MESSAGE)
        if not policy.can_join(access):
            raise NotAllowed("Only public channels can be joined. Ask a member to add you.")
        placements = backend_add(channel, [actor], actor=actor)
        try:
            [membership] = create_memberships(channel, [actor], placements=placements)
        except IntegrityError:
            # The same person joined from another tab a moment ago (seen on PostgreSQL).
            return Membership.objects.get(channel=channel, user=actor)
        publish_on_commit(channel, "membership.created", {"user_ids": [actor.pk], "by": actor.pk})
    return membership


def leave_channel(*, actor, channel: Channel) -> None:
    with transaction.atomic():
        access = policy.access_for(actor, channel)
        require_visible(access)
        if not policy.can_leave(access):
            raise NotAllowed("You are not a member of this channel.")
        get_backend().remove_member(channel, actor, actor=actor)
        streams = delete_membership(access.membership, channel)
        publish_on_commit(
            channel, "membership.deleted", {"user_id": actor.pk, "by": actor.pk, "reason": "left", "streams": streams}
        )


def add_members(*, actor, channel: Channel, users: Iterable) -> list[Membership]:
    """Add people to a channel; those already in it are skipped. Elastic channels place each one."""
    users = list({user.pk: user for user in users}.values())
    with transaction.atomic():
        access = policy.access_for(actor, channel)
        require_visible(access)
        if not policy.can_add_members(access):
            raise NotAllowed(add_refusal(access))
        if inactive := [user.username for user in users if not user.is_active]:
            raise InvalidRequest(f"Not an active account: {', '.join(inactive)}.")
        user_ids = [user.pk for user in users]
        banned_ids = set(
            Ban.objects.active().filter(channel=channel, user_id__in=user_ids).values_list("user_id", flat=True)
        )
        if banned_ids:
            names = ", ".join(user.username for user in users if user.pk in banned_ids)
            raise InvalidRequest(f"Banned from this channel: {names}. Lift the ban first.")
        member_ids = set(
            Membership.objects.filter(channel=channel, user_id__in=user_ids).values_list("user_id", flat=True)
        )
        newcomers = [user for user in users if user.pk not in member_ids]
        if not newcomers:
            raise InvalidRequest("Already a member of this channel.")
        placements = backend_add(channel, newcomers, actor=backend_actor(access))
        memberships = create_memberships(channel, newcomers, placements=placements)
        publish_on_commit(channel, "membership.created", {"user_ids": [user.pk for user in newcomers], "by": actor.pk})
    return memberships


def add_refusal(access: policy.ChannelAccess) -> str:
    if access.channel.is_direct:
        return "Direct messages are between two people; start a new channel to include more."
    return "In a restricted channel only moderators and administrators can add members."


def remove_member(*, actor, channel: Channel, user) -> None:
    with transaction.atomic():
        access = policy.access_for(actor, channel)
        require_visible(access)
        target = _membership_of(channel, user, access)
        if not policy.can_remove_member(access, target):
            raise NotAllowed(
                "Use Leave to leave a channel."
                if target.user_id == actor.pk
                else "Only moderators remove members, and only administrators remove moderators."
            )
        get_backend().remove_member(channel, user, actor=backend_actor(access))
        streams = delete_membership(target, channel)
        publish_on_commit(
            channel, "membership.deleted", {"user_id": user.pk, "by": actor.pk, "reason": "removed", "streams": streams}
        )


def promote_moderator(*, actor, channel: Channel, user) -> Membership:
    with transaction.atomic():
        access = policy.access_for(actor, channel)
        require_visible(access)
        target = _membership_of(channel, user, access)
        if not policy.can_promote(access, target):
            raise NotAllowed(_moderation_refusal(access, target, "is already a moderator"))
        get_backend().add_moderator(channel, user, actor=backend_actor(access))
        seat_id = target.subchannel_id
        target.role = Role.MODERATOR
        target.subchannel = None
        target.save(update_fields=["role", "subchannel"])
        if seat_id is not None:
            # The new moderator stays in their sub-channel, now on a moderator seat that uses no capacity.
            ModeratorSeat.objects.create(membership=target, subchannel_id=seat_id)
            elastic.release_seat(channel=channel, subchannel_id=seat_id)
        publish_on_commit(channel, "membership.updated", {"user_id": user.pk, "role": Role.MODERATOR, "by": actor.pk})
    return target


def demote_moderator(*, actor, channel: Channel, user) -> Membership:
    """Back to member; on an elastic channel they are placed like any joiner (ChannelFull if no seat)."""
    with transaction.atomic():
        access = policy.access_for(actor, channel)
        require_visible(access)
        target = _membership_of(channel, user, access)
        moderator_count = Membership.objects.filter(channel=channel).moderators().count()
        if not policy.can_demote(access, target, moderator_count=moderator_count):
            raise NotAllowed(_demote_refusal(access, target, moderator_count))
        backend = get_backend()
        placed = backend.remove_moderator(channel, user, actor=backend_actor(access))
        update_fields = ["role"]
        if channel.is_elastic:
            [target.subchannel_id] = (
                elastic.seats_from_placements(channel=channel, placed=[placed])
                if backend.places_members
                else elastic.take_seats(channel=channel, count=1)
            )
            target.moderator_seats.all().delete()
            update_fields.append("subchannel")
        target.role = Role.MEMBER
        target.save(update_fields=update_fields)
        publish_on_commit(channel, "membership.updated", {"user_id": user.pk, "role": Role.MEMBER, "by": actor.pk})
    return target


def _demote_refusal(access: policy.ChannelAccess, target: Membership, moderator_count: int) -> str:
    if access.manages and target.user_id == access.user.pk and moderator_count <= 1:
        return "You are this channel's only moderator: promote someone else first."
    if access.manages and target.user_id == access.channel.created_by_id and policy.is_admin(target.user):
        return f"{target.user.username} created this channel and is an administrator: only administrators demote them."
    return _moderation_refusal(access, target, "is not a moderator")


def _moderation_refusal(access: policy.ChannelAccess, target: Membership, state: str) -> str:
    if access.channel.is_direct:
        return "Direct messages have no moderators."
    if access.manages:
        return f"{target.user.username} {state}."
    return "Only moderators and administrators change who moderates."


def ban_user(*, actor, channel: Channel, user, reason: str = "", expires_at: datetime | None = None) -> Ban:
    """Ban someone (member or not): their membership goes, and they cannot join or be added until
    the ban is lifted or, with `expires_at`, ends by itself."""
    reason = (reason or "").strip()
    if len(reason) > MAX_BAN_REASON:
        raise InvalidRequest(f"A ban's reason can be at most {MAX_BAN_REASON} characters long.")
    if expires_at is not None and expires_at <= timezone.now():
        raise InvalidRequest("A ban's end must be in the future.")
    with transaction.atomic():
        access = policy.access_for(actor, channel)
        require_visible(access)
        target = Membership.objects.filter(channel=channel, user=user).first()
        target_is_moderator = target is not None and target.role == Role.MODERATOR
        if not policy.can_ban(access, user, target_is_moderator=target_is_moderator):
            raise NotAllowed(_ban_refusal(access, user, target_is_moderator))
        if Ban.objects.active().filter(channel=channel, user=user).exists():
            raise InvalidRequest(f"{user.username} is already banned.")
        get_backend().ban(channel, user, actor=backend_actor(access))
        Ban.objects.filter(channel=channel, user=user).delete()  # an ended ban gives way to the new one
        if target is not None:
            streams = delete_membership(target, channel)
            publish_on_commit(
                channel,
                "membership.deleted",
                {"user_id": user.pk, "by": actor.pk, "reason": "banned", "streams": streams},
            )
        ban = Ban.objects.create(channel=channel, user=user, created_by=actor, reason=reason, expires_at=expires_at)
        publish_on_commit(
            channel,
            "ban.created",
            {"user_id": user.pk, "by": actor.pk, "until": expires_at.isoformat() if expires_at else None},
        )
    return ban


def _ban_refusal(access: policy.ChannelAccess, user, target_is_moderator: bool) -> str:
    if user.pk == access.user.pk:
        return "You cannot ban yourself."
    if target_is_moderator or policy.is_admin(user):
        return "Moderators and administrators cannot be banned."
    if access.channel.is_direct:
        return "Nobody is banned from direct messages; leave the conversation instead."
    return "Only moderators and administrators ban people."


def unban_user(*, actor, channel: Channel, user) -> None:
    with transaction.atomic():
        access = policy.access_for(actor, channel)
        require_visible(access)
        if not policy.can_unban(access):
            raise NotAllowed("Only moderators and administrators lift bans.")
        bans = Ban.objects.filter(channel=channel, user=user)
        if not bans.active().exists():
            raise InvalidRequest(f"{user.username} is not banned from this channel.")
        get_backend().unban(channel, user, actor=backend_actor(access))
        bans.delete()
        publish_on_commit(channel, "ban.deleted", {"user_id": user.pk, "by": actor.pk})


def _membership_of(channel: Channel, user, access: policy.ChannelAccess) -> Membership:
    target = Membership.objects.select_related("user").filter(channel=channel, user=user).first()
    if target is not None:
        return target
    if not access.manages:
        raise NotAllowed("Only moderators and administrators manage members.")
    raise InvalidRequest(f"{user.username} is not a member of this channel.")
