"""The access helpers every service and view fetches channels through."""

from __future__ import annotations

from chat import policy
from chat.exceptions import ChannelNotFound
from chat.models import Channel


def require_visible(access: policy.ChannelAccess) -> None:
    # The same refusal for "does not exist" and "you may not know it exists".
    if not policy.can_view(access):
        raise ChannelNotFound()


def backend_actor(access: policy.ChannelAccess):
    """On whose behalf the messaging backend is asked (chat/backends/base.py): the person, unless only
    their administrator role, not a role in the channel, allows the change; then None, the app's own
    administrative call."""
    if access.is_admin and not access.is_moderator:
        return None
    return access.user


def get_channel_access(user, channel_id: int) -> policy.ChannelAccess:
    """The channel with `user`'s standing in it, or ChannelNotFound (a 404) if missing or invisible."""
    channel = Channel.objects.select_related("created_by").filter(pk=channel_id).first()
    if channel is None:
        raise ChannelNotFound()
    access = policy.access_for(user, channel)
    require_visible(access)
    return access


def managed_channels(user):
    """The channels whose moderation `user` holds: all of them for administrators, else those they moderate."""
    if policy.is_admin(user):
        return Channel.objects.all()
    return Channel.objects.moderated_by(user)
