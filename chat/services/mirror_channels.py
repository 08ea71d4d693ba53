"""Mirroring Chime's channel, membership, moderator, ban and sub-channel events (MESSAGING_BACKEND=chime).

Relay-facing services, called by chat/services/mirror.py for each record of Chime's event
stream. There is no policy check: the change has already happened in Chime, which decided.
Each function is idempotent (a record arrives at least once): it compares with what our
database holds and does nothing when the change is already there, so our own changes, which
the services wrote when they made them, come back as no-ops. Events are announced through
chat/events.py in the caller's transaction (the one that also saves the shard checkpoint).
"""

from __future__ import annotations

from django.conf import settings

from chat.backends.chime.identity import user_for_arn
from chat.backends.chime.records import ChimeChannel, ChimeMember, ChimeSubChannel
from chat.events import publish_on_commit
from chat.models import MAX_CHANNEL_NAME_LENGTH, Ban, Channel, Membership, Mode, ModeratorSeat, Role, SubChannel
from chat.services import attachments, elastic
from chat.services.memberships import create_memberships, delete_membership

APPLIED, DUPLICATE, IGNORED = "applied", "duplicate", "ignored"


def chime_channel(channel_arn: str | None) -> Channel | None:
    return Channel.objects.filter(chime_arn=channel_arn).first() if channel_arn else None


def chime_user(arn: str | None):
    return user_for_arn(settings.CHIME_APP_INSTANCE_ARN, arn)


def _pk(user) -> int | None:
    return user.pk if user is not None else None


def _member_and_channel(payload: dict):
    member = ChimeMember.from_payload(payload)
    channel = chime_channel(member.channel_arn)
    user = chime_user(member.member_arn) if channel is not None else None
    return member, channel, user


def mirror_membership_created(payload: dict) -> str:
    member, channel, user = _member_and_channel(payload)
    if channel is None or user is None:
        return IGNORED
    existing = Membership.objects.filter(channel=channel, user=user).first()
    if existing is not None:
        if channel.is_elastic and member.subchannel_id:
            return _reseat(channel, existing, member.subchannel_id)
        return DUPLICATE
    # Chime let them in, so no ban holds there any more.
    Ban.objects.filter(channel=channel, user=user).delete()
    placements = {user.pk: member.subchannel_id} if channel.is_elastic else None
    create_memberships(channel, [user], placements=placements)
    by = chime_user(member.by_arn)
    publish_on_commit(channel, "membership.created", {"user_ids": [user.pk], "by": _pk(by)})
    return APPLIED


def _reseat(channel: Channel, membership: Membership, chime_id: str) -> str:
    """A member placed elsewhere (Chime moved them), or a moderator sitting in one more sub-channel."""
    subchannel = elastic.subchannel_for_backend_id(channel, chime_id)
    if membership.role == Role.MODERATOR:
        _, created = ModeratorSeat.objects.get_or_create(membership=membership, subchannel=subchannel)
        if not created:
            return DUPLICATE
        payload = {"user_id": membership.user_id, "subchannel_id": subchannel.pk, "number": subchannel.number}
        publish_on_commit(channel, "moderator.seated", payload)
        return APPLIED
    if membership.subchannel_id == subchannel.pk:
        return DUPLICATE
    previous = SubChannel.objects.filter(pk=membership.subchannel_id).first()
    [membership.subchannel_id] = elastic.seats_from_placements(channel=channel, placed=[chime_id])
    membership.save(update_fields=["subchannel"])
    if previous is not None:
        elastic.release_seat(channel=channel, subchannel_id=previous.pk)
    moved = {
        "user_id": membership.user_id,
        "from": previous.number if previous else None,
        "to": subchannel.number,
        "subchannel_id": subchannel.pk,
    }
    publish_on_commit(channel, "membership.moved", moved)
    return APPLIED


def mirror_membership_updated(payload: dict) -> str:
    """UPDATE_CHANNEL_MEMBERSHIP: in an elastic channel, Chime moved the member to another sub-channel."""
    member, channel, user = _member_and_channel(payload)
    if channel is None or user is None or not channel.is_elastic or not member.subchannel_id:
        return IGNORED
    membership = Membership.objects.filter(channel=channel, user=user).first()
    if membership is None:
        return mirror_membership_created(payload)
    return _reseat(channel, membership, member.subchannel_id)


def mirror_membership_deleted(payload: dict) -> str:
    member, channel, user = _member_and_channel(payload)
    if channel is None or user is None:
        return IGNORED
    membership = Membership.objects.filter(channel=channel, user=user).first()
    if membership is None:
        return DUPLICATE
    if membership.role == Role.MODERATOR and channel.is_elastic and member.subchannel_id:
        seats = ModeratorSeat.objects.filter(membership=membership)
        if seats.count() > 1:
            # A moderator left one of the sub-channels they sit in; they still moderate the others.
            seats.filter(subchannel__chime_id=member.subchannel_id).delete()
            return APPLIED
    reason = "left" if member.by_arn in (None, member.member_arn) else "removed"
    streams = delete_membership(membership, channel)
    payload = {"user_id": user.pk, "by": _pk(chime_user(member.by_arn)), "reason": reason, "streams": streams}
    publish_on_commit(channel, "membership.deleted", payload)
    return APPLIED


def mirror_moderator_created(payload: dict) -> str:
    member, channel, user = _member_and_channel(payload)
    if channel is None or user is None:
        return IGNORED
    by = _pk(chime_user(member.by_arn))
    membership = Membership.objects.filter(channel=channel, user=user).first()
    if membership is None:
        create_memberships(channel, [user], role=Role.MODERATOR)
        publish_on_commit(channel, "membership.created", {"user_ids": [user.pk], "by": by})
        return APPLIED
    if membership.role == Role.MODERATOR:
        return DUPLICATE
    seat_id = membership.subchannel_id
    membership.role, membership.subchannel = Role.MODERATOR, None
    membership.save(update_fields=["role", "subchannel"])
    if seat_id is not None:
        ModeratorSeat.objects.create(membership=membership, subchannel_id=seat_id)
        elastic.release_seat(channel=channel, subchannel_id=seat_id)
    publish_on_commit(channel, "membership.updated", {"user_id": user.pk, "role": Role.MODERATOR, "by": by})
    return APPLIED


def mirror_moderator_deleted(payload: dict) -> str:
    member, channel, user = _member_and_channel(payload)
    if channel is None or user is None:
        return IGNORED
    membership = Membership.objects.filter(channel=channel, user=user, role=Role.MODERATOR).first()
    if membership is None:
        return DUPLICATE
    update_fields = ["role"]
    if channel.is_elastic:
        # Seated where they last moderated until Chime's membership events say otherwise.
        seat = membership.moderator_seats.select_related("subchannel").order_by("pk").first()
        placed = [seat.subchannel.chime_id if seat is not None else None]
        [membership.subchannel_id] = elastic.seats_from_placements(channel=channel, placed=placed)
        membership.moderator_seats.all().delete()
        update_fields.append("subchannel")
    membership.role = Role.MEMBER
    membership.save(update_fields=update_fields)
    by = _pk(chime_user(member.by_arn))
    publish_on_commit(channel, "membership.updated", {"user_id": user.pk, "role": Role.MEMBER, "by": by})
    return APPLIED


def mirror_ban_created(payload: dict) -> str:
    member, channel, user = _member_and_channel(payload)
    if channel is None or user is None:
        return IGNORED
    existing = Ban.objects.filter(channel=channel, user=user).first()
    if existing is not None and existing.is_active:
        return DUPLICATE
    by = chime_user(member.by_arn)
    membership = Membership.objects.filter(channel=channel, user=user).first()
    if membership is not None:
        streams = delete_membership(membership, channel)
        gone = {"user_id": user.pk, "by": _pk(by), "reason": "banned", "streams": streams}
        publish_on_commit(channel, "membership.deleted", gone)
    Ban.objects.filter(channel=channel, user=user).delete()
    Ban.objects.create(channel=channel, user=user, created_by=by)
    publish_on_commit(channel, "ban.created", {"user_id": user.pk, "by": _pk(by), "until": None})
    return APPLIED


def mirror_ban_deleted(payload: dict) -> str:
    member, channel, user = _member_and_channel(payload)
    if channel is None or user is None:
        return IGNORED
    deleted, _ = Ban.objects.filter(channel=channel, user=user).delete()
    if not deleted:
        return DUPLICATE
    publish_on_commit(channel, "ban.deleted", {"user_id": user.pk, "by": _pk(chime_user(member.by_arn))})
    return APPLIED


def mirror_channel_updated(payload: dict) -> str:
    info = ChimeChannel.from_payload(payload)
    channel = chime_channel(info.channel_arn)
    if channel is None:
        return IGNORED
    name = info.name.strip()[:MAX_CHANNEL_NAME_LENGTH] or channel.name
    # Mode exists on private standard channels only (our check constraint); privacy never changes.
    mode = info.mode if info.mode in Mode.values and channel.offers_mode else channel.mode
    if (name, mode) == (channel.name, channel.mode):
        return DUPLICATE
    channel.name, channel.mode = name, mode
    channel.save(update_fields=["name", "mode"])
    publish_on_commit(channel, "channel.updated", {"name": channel.name, "mode": channel.mode, "by": None})
    return APPLIED


def mirror_channel_deleted(payload: dict) -> str:
    channel = chime_channel(ChimeChannel.from_payload(payload).channel_arn)
    if channel is None:
        return DUPLICATE
    publish_on_commit(channel, "channel.deleted", {"by": None})
    attachments.delete_for_channel(channel=channel)
    channel.delete()
    return APPLIED


def mirror_subchannel_created(payload: dict) -> str:
    info = ChimeSubChannel.from_payload(payload)
    channel = chime_channel(info.channel_arn)
    if channel is None or not channel.is_elastic:
        return IGNORED
    if SubChannel.objects.filter(channel=channel, chime_id=info.subchannel_id).exists():
        return DUPLICATE
    elastic.subchannel_for_backend_id(channel, info.subchannel_id)
    return APPLIED


def mirror_subchannel_deleted(payload: dict) -> str:
    """Chime scaled in and deleted the sub-channel with its messages; we keep them: its members and
    history move into the fullest other open sub-channel, and ours is closed."""
    info = ChimeSubChannel.from_payload(payload)
    channel = chime_channel(info.channel_arn)
    if channel is None:
        return IGNORED
    subchannel = SubChannel.objects.filter(channel=channel, chime_id=info.subchannel_id, is_open=True).first()
    if subchannel is None:
        return DUPLICATE
    return APPLIED if elastic.merge_away(channel=channel, subchannel=subchannel) else IGNORED


HANDLERS = {
    "CREATE_CHANNEL_MEMBERSHIP": mirror_membership_created,
    "UPDATE_CHANNEL_MEMBERSHIP": mirror_membership_updated,
    "DELETE_CHANNEL_MEMBERSHIP": mirror_membership_deleted,
    "CREATE_CHANNEL_MODERATOR": mirror_moderator_created,
    "DELETE_CHANNEL_MODERATOR": mirror_moderator_deleted,
    "CREATE_CHANNEL_BAN": mirror_ban_created,
    "DELETE_CHANNEL_BAN": mirror_ban_deleted,
    "UPDATE_CHANNEL": mirror_channel_updated,
    "DELETE_CHANNEL": mirror_channel_deleted,
    "CREATE_SUB_CHANNEL": mirror_subchannel_created,
    "DELETE_SUB_CHANNEL": mirror_subchannel_deleted,
}
