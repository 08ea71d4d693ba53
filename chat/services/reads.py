"""Reads shared by the pages and the socket: the streams a person follows and where they read.

Read-only and policy-checked; the conversation page, the unread counts and the WebSocket
consumer all ask these, so they sit below both (chat/web and chat/realtime never import each other).
"""

from __future__ import annotations

from collections.abc import Iterable

from chat import policy
from chat.exceptions import ChannelNotFound
from chat.models import Membership, ModeratorSeat, Stream, SubChannel
from chat.services.access import get_channel_access
from chat.streams import StreamKey


def member_stream_keys(user) -> list[str]:
    """Every stream `user` receives as a member: channels, their elastic seat, their moderator seats."""
    keys = []
    for channel_id, subchannel_id, is_elastic in Membership.objects.filter(user=user).values_list(
        "channel_id", "subchannel_id", "channel__channel_type"
    ):
        if is_elastic != "elastic":
            keys.append(str(StreamKey(channel_id)))
        elif subchannel_id is not None:
            keys.append(str(StreamKey(channel_id, subchannel_id)))
    seats = ModeratorSeat.objects.filter(membership__user=user).values_list("membership__channel_id", "subchannel_id")
    keys.extend(str(StreamKey(channel_id, subchannel_id)) for channel_id, subchannel_id in seats)
    return keys


def last_seqs(keys: Iterable[str]) -> dict[str, int]:
    keys = list(keys)
    found = dict(Stream.objects.filter(key__in=keys).values_list("key", "last_seq"))
    return {key: found.get(key, 0) for key in keys}


def viewing_stream(user, channel_id: int, requested: StreamKey | None = None) -> str:
    """The stream a person reads in a channel: the channel's own; in an elastic channel their seat,
    the sub-channel they asked for (moderators, admins, public visitors), or the first open one."""
    access = get_channel_access(user, channel_id)
    channel = access.channel
    if not channel.is_elastic:
        return str(StreamKey(channel.pk))
    if requested is not None and requested.channel_id == channel.pk and policy.can_read_stream(access, requested):
        return str(requested)
    if access.membership is not None and access.membership.subchannel_id is not None:
        return str(StreamKey(channel.pk, access.membership.subchannel_id))
    first = (
        SubChannel.objects.filter(channel=channel, is_open=True).order_by("number").values_list("pk", flat=True).first()
    )
    if first is None:
        raise ChannelNotFound()
    return str(StreamKey(channel.pk, first))
