"""Creating, editing and deleting channels, and opening direct messages."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from chat import policy
from chat.backends import get_backend
from chat.events import publish_on_commit
from chat.exceptions import NotAllowed
from chat.models import Channel, ChannelType, Membership, Mode, ModeratorSeat, Privacy, Role
from chat.services import attachments, elastic
from chat.services.access import backend_actor, require_visible
from chat.services.memberships import backend_add, create_memberships


def create_channel(
    *,
    actor,
    name: str,
    privacy: str,
    mode: str = Mode.RESTRICTED,
    channel_type: str = ChannelType.STANDARD,
    maximum_subchannels: int | None = None,
    target_memberships_per_subchannel: int | None = None,
    minimum_membership_percentage: int | None = None,
) -> Channel:
    """Create a channel with `actor` as its first moderator. Raises ValidationError on bad settings."""
    if not policy.can_create_channel(actor):
        raise NotAllowed("Only active members create channels.")
    channel = Channel(
        name=name,
        privacy=privacy,
        mode=mode,
        channel_type=channel_type,
        maximum_subchannels=maximum_subchannels,
        target_memberships_per_subchannel=target_memberships_per_subchannel,
        minimum_membership_percentage=minimum_membership_percentage,
        created_by=actor,
    )
    channel.full_clean()
    check_name_is_free(channel)
    # Before the transaction: the channel's id in the messaging service is stored with it.
    created = get_backend().create_channel(channel, creator=actor)
    channel.chime_arn = created.ref
    with transaction.atomic():
        channel.save()
        [membership] = create_memberships(channel, [actor], role=Role.MODERATOR)
        if channel.is_elastic:
            first = elastic.open_first_subchannel(channel, created.subchannel_ids)
            ModeratorSeat.objects.create(membership=membership, subchannel=first)
        publish_on_commit(channel, "channel.created", {"by": actor.pk})
    return channel


def update_channel(*, actor, channel: Channel, name: str, mode: str | None = None) -> Channel:
    """Rename, and change mode where mode exists. Privacy and type never change."""
    with transaction.atomic():
        access = policy.access_for(actor, channel)
        require_visible(access)
        if not policy.can_edit(access):
            raise NotAllowed("Only moderators and administrators edit a channel.")
        channel.name = name
        update_fields = ["name"]
        if mode is not None and mode != channel.mode:
            if not policy.can_change_mode(access):
                raise NotAllowed("Mode can only be changed on private standard channels.")
            channel.mode = mode
            update_fields.append("mode")
        channel.full_clean()
        check_name_is_free(channel)
        get_backend().update_channel(channel, actor=backend_actor(access))
        channel.save(update_fields=update_fields)
        publish_on_commit(channel, "channel.updated", {"name": channel.name, "mode": channel.mode, "by": actor.pk})
    return channel


def check_name_is_free(channel: Channel) -> None:
    """Channel names are unique whatever their case (direct conversations have no name of their own)."""
    if channel.is_direct:
        return
    taken = Channel.objects.filter(is_direct=False, name__iexact=channel.name).exclude(pk=channel.pk).first()
    if taken is not None:
        raise ValidationError({"name": f"A channel named “{taken.name}” already exists."}, code="duplicate_name")


def delete_channel(*, actor, channel: Channel) -> None:
    with transaction.atomic():
        access = policy.access_for(actor, channel)
        require_visible(access)
        if not policy.can_delete(access):
            raise NotAllowed("Only moderators and administrators delete a channel.")
        get_backend().delete_channel(channel, actor=backend_actor(access))
        # Published before the row goes so the event still carries the channel's id.
        publish_on_commit(channel, "channel.deleted", {"by": actor.pk})
        # The rows cascade; the stored files are removed after commit.
        attachments.delete_for_channel(channel=channel)
        channel.delete()


def open_direct_channel(*, actor, other) -> Channel:
    """Create, or reopen, the private restricted two-member channel of `actor` and `other`."""
    if not policy.can_message_user(actor, other):
        raise NotAllowed("You can only message another active member.")
    first, second = sorted([actor, other], key=lambda user: user.pk)
    key = f"{first.pk}:{second.pk}"
    with transaction.atomic():
        channel = Channel.objects.filter(direct_key=key).first()
        if channel is None:
            channel = Channel(
                name=f"{first.username}, {second.username}",
                privacy=Privacy.PRIVATE,
                mode=Mode.RESTRICTED,
                is_direct=True,
                direct_key=key,
                created_by=actor,
            )
            channel.chime_arn = get_backend().create_channel(channel, creator=actor).ref
            try:
                with transaction.atomic():
                    channel.save()
            except IntegrityError:
                # The other person opened it at the same moment.
                channel = Channel.objects.get(direct_key=key)
            else:
                publish_on_commit(channel, "channel.created", {"by": actor.pk})
        member_ids = set(Membership.objects.filter(channel=channel).values_list("user_id", flat=True))
        if missing := [user for user in (first, second) if user.pk not in member_ids]:
            # Reopening: whoever left the conversation is back in it. Nobody moderates a direct
            # channel, so the app adds them (an administrative call).
            backend_add(channel, missing, actor=None)
            create_memberships(channel, missing)
            publish_on_commit(
                channel, "membership.created", {"user_ids": [user.pk for user in missing], "by": actor.pk}
            )
    return channel
