"""Every channel permission rule, in one place, one condition per line.

Rules take a ``ChannelAccess``: who is asking, about which channel, and their standing there
(membership, ban), loaded once by ``access_for`` so templates and loops ask without queries.
Services, views, templates and the admin all decide through these functions.
"""

from __future__ import annotations

from dataclasses import dataclass

from chat.models import Ban, Channel, Membership, Message, Mode, Role
from chat.streams import StreamKey


@dataclass(frozen=True)
class ChannelAccess:
    user: object
    channel: Channel
    membership: Membership | None
    is_banned: bool

    @property
    def is_admin(self) -> bool:
        return is_admin(self.user)

    @property
    def is_member(self) -> bool:
        return self.membership is not None

    @property
    def is_moderator(self) -> bool:
        return self.membership is not None and self.membership.role == Role.MODERATOR

    @property
    def manages(self) -> bool:
        """Admins and the channel's moderators hold the moderation powers."""
        return self.is_admin or self.is_moderator


def access_for(user, channel: Channel) -> ChannelAccess:
    """Two small queries, whatever the size of the channel."""
    membership = Membership.objects.filter(channel=channel, user=user).first() if user.is_authenticated else None
    is_banned = user.is_authenticated and Ban.objects.filter(channel=channel, user=user).exists()
    return ChannelAccess(user=user, channel=channel, membership=membership, is_banned=is_banned)


def is_admin(user) -> bool:
    return user.is_authenticated and user.is_active and user.is_staff


def can_create_channel(user) -> bool:
    return user.is_authenticated and user.is_active


def can_message_user(user, other) -> bool:
    return can_create_channel(user) and other.is_active and other.pk != user.pk


# Reading


def can_view(access: ChannelAccess) -> bool:
    """Private channels exist only for their members (and admins); public ones for everyone signed in."""
    if not access.user.is_authenticated:
        return False
    if access.is_admin or access.is_member:
        return True
    return access.channel.is_public


def can_list_members(access: ChannelAccess) -> bool:
    return can_view(access)


def can_see_bans(access: ChannelAccess) -> bool:
    return can_view(access) and access.manages


def can_list_subchannels(access: ChannelAccess) -> bool:
    return can_view(access) and access.channel.is_elastic and access.manages


# Joining and leaving


def can_join(access: ChannelAccess) -> bool:
    if not access.channel.is_public:
        return False
    if access.channel.is_direct:
        return False
    if access.is_banned:
        return False
    return access.user.is_active


def can_send(access: ChannelAccess) -> bool:
    """For the messaging work: members send; a non-member of a public channel is joined first."""
    if access.is_banned:
        return False
    return access.is_member or can_join(access)


def can_leave(access: ChannelAccess) -> bool:
    return access.is_member


def can_join_subchannel(access: ChannelAccess) -> bool:
    return access.channel.is_elastic and access.is_moderator


# Managing members


def can_add_members(access: ChannelAccess) -> bool:
    if access.channel.is_direct:
        return False
    if access.manages:
        return True
    return access.is_member and access.channel.mode == Mode.UNRESTRICTED


def can_remove_member(access: ChannelAccess, target: Membership) -> bool:
    if access.channel.is_direct:
        return False
    if target.user_id == access.user.pk:
        return False  # leaving is its own action
    if access.is_admin:
        return True
    return access.is_moderator and target.role == Role.MEMBER


def can_promote(access: ChannelAccess, target: Membership) -> bool:
    if access.channel.is_direct:
        return False
    if target.role != Role.MEMBER:
        return False
    return access.manages


def can_demote(access: ChannelAccess, target: Membership) -> bool:
    if access.channel.is_direct:
        return False
    if target.role != Role.MODERATOR:
        return False
    return access.manages


def can_ban(access: ChannelAccess, target_user, *, target_is_moderator: bool) -> bool:
    if access.channel.is_direct:
        return False
    if target_user.pk == access.user.pk:
        return False
    if target_is_moderator:
        return False  # nobody bans a moderator...
    if is_admin(target_user):
        return False  # ...or an admin
    return access.manages


def can_unban(access: ChannelAccess) -> bool:
    return access.manages


# Editing the channel


def can_edit(access: ChannelAccess) -> bool:
    if access.channel.is_direct:
        return False
    return access.manages


def can_change_mode(access: ChannelAccess) -> bool:
    """Mode exists only on private standard channels; privacy never changes."""
    if not can_edit(access):
        return False
    if not access.channel.is_private:
        return False
    return not access.channel.is_elastic


def can_delete(access: ChannelAccess) -> bool:
    if access.channel.is_direct:
        return access.is_admin
    return access.manages


# Messages


def can_read_stream(access: ChannelAccess, key: StreamKey) -> bool:
    """Who reads a stream's messages and events: a standard channel's readers, and in an elastic
    channel the member seated in that sub-channel, its moderators, admins, or anyone if public."""
    if not can_view(access):
        return False
    if key.channel_id != access.channel.pk:
        return False
    if not access.channel.is_elastic:
        return key.subchannel_id is None
    if key.subchannel_id is None:
        return False
    if access.manages or access.channel.is_public:
        return True
    return access.membership is not None and access.membership.subchannel_id == key.subchannel_id


def can_redact(access: ChannelAccess, message: Message) -> bool:
    if message.author_id == access.user.pk:
        return True
    return access.manages


def can_hard_delete(access: ChannelAccess) -> bool:
    return access.is_admin
