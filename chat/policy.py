"""Every channel permission rule, in one place, one condition per line.

Rules take a ``ChannelAccess``: who is asking, about which channel, and their standing there
(membership, ban), loaded once by ``access_for`` so templates and loops ask without queries.
Services, views, templates and the admin all decide through these functions.
"""

from __future__ import annotations

from dataclasses import dataclass

from chat.models import Ban, Channel, Membership, Message, Mode, Report, Role
from chat.streams import StreamKey
from hobbies.accounts.policy import is_administrator


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
    is_banned = user.is_authenticated and Ban.objects.active().filter(channel=channel, user=user).exists()
    return ChannelAccess(user=user, channel=channel, membership=membership, is_banned=is_banned)


def is_admin(user) -> bool:
    """A community administrator (a superuser, or staff in the Community administrators group); staff alone is not."""
    return is_administrator(user)


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


def can_demote(access: ChannelAccess, target: Membership, *, moderator_count: int) -> bool:
    """`moderator_count`: how many moderators the channel has now."""
    if access.channel.is_direct:
        return False
    if target.role != Role.MODERATOR:
        return False
    if target.user_id == access.user.pk and moderator_count <= 1:
        return False  # the last moderator stays one: the channel would have none
    if target.user_id == access.channel.created_by_id and is_admin(target.user) and not access.is_admin:
        return False  # an administrator who created the channel is demoted by administrators only
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


def can_moderate_somewhere(user) -> bool:
    """Who may sign in to the moderation site (/moderation/): administrators, and moderators of a channel."""
    if not user.is_authenticated:
        return False
    if not user.is_active:
        return False
    if is_admin(user):
        return True
    return Membership.objects.filter(user=user, role=Role.MODERATOR).exists()


# Dashboards (chat/services/dashboards.py)


def can_see_community_dashboard(user) -> bool:
    """The whole community's figures (/dashboard/): administrators only."""
    if not user.is_authenticated or not user.is_active:
        return False
    return is_admin(user)


def can_see_channel_dashboard(access: ChannelAccess) -> bool:
    """A channel's figures: its moderators and the administrators; nobody else learns it has any."""
    if not access.user.is_active:
        return False
    if access.channel.is_direct:
        return False  # a conversation between two people is nobody's dashboard
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


# Replies and reactions (chat/services/reactions.py, chat/services/messages.py)


def can_react(access: ChannelAccess, message: Message) -> bool:
    """Whoever reads a message reacts to it, except the banned and non-members of private channels."""
    if not access.user.is_active:
        return False
    if access.is_banned:
        return False
    if message.redacted_at is not None:
        return False
    if message.stream_id is None:
        return False
    if not can_read_stream(access, StreamKey.parse(message.stream_id)):
        return False
    if access.is_member:
        return True
    return access.channel.is_public


def can_clear_reactions(access: ChannelAccess) -> bool:
    """Moderators (and administrators) take away every reaction on a message."""
    return access.manages


def can_reply_to(access: ChannelAccess, message: Message) -> bool:
    """A reply quotes a message of the stream it is sent in, so its readers read the original too."""
    if message.stream_id is None:
        return False
    return can_read_stream(access, StreamKey.parse(message.stream_id))


# Reports


def can_report(access: ChannelAccess, message: Message) -> bool:
    """Anyone who reads a message may report it, except its author; a deleted message is gone already."""
    if not access.user.is_active:
        return False
    if message.author_id is None:
        return False
    if message.author_id == access.user.pk:
        return False
    if message.redacted_at is not None:
        return False
    if message.stream_id is None:
        return False
    return can_read_stream(access, StreamKey.parse(message.stream_id))


def can_handle_report(access: ChannelAccess, report: Report) -> bool:
    """The channel's moderators and the administrators see and act on a report, never the person it is about."""
    if report.reported_user_id == access.user.pk:
        return False
    return access.manages


def can_deactivate_from_report(access: ChannelAccess, report: Report) -> bool:
    """Deactivating the author's account is the administrators' (the account side decides on the person)."""
    if not can_handle_report(access, report):
        return False
    return access.is_admin
