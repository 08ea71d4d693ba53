"""The access helpers every service and view fetches channels through."""

from __future__ import annotations

from chat import policy
from chat.exceptions import ChannelNotFound
from chat.models import Channel


def require_visible(access: policy.ChannelAccess) -> None:
    # The same refusal for "does not exist" and "you may not know it exists".
    if not policy.can_view(access):
        raise ChannelNotFound()


def get_channel_access(user, channel_id: int) -> policy.ChannelAccess:
    """The channel with `user`'s standing in it, or ChannelNotFound (a 404) if missing or invisible."""
    channel = Channel.objects.select_related("created_by").filter(pk=channel_id).first()
    if channel is None:
        raise ChannelNotFound()
    access = policy.access_for(user, channel)
    require_visible(access)
    return access
