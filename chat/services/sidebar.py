"""The sidebar of every signed-in page: my channels and direct messages, each with its unread count
per stream and its unread mentions of me, the people I write to with their presence, and my own
status. A constant number of queries whatever the number of channels, streams or messages.

Mentions: a message that highlights my name (chat/rendering.py wraps member @mentions in
<span class="mention">), a reply to a message of mine that is still there (Message.reply_to, read
in the same grouped count: no query more), and every message of a direct conversation.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db.models import Count, F, Q
from django.db.models.functions import Lower

from chat.models import Membership, Message, ModeratorSeat, ReadMarker
from chat.services.presence import Presence, presence_store
from chat.streams import StreamKey


@dataclass
class SidebarItem:
    channel_id: int
    name: str
    is_direct: bool = False
    is_private: bool = False
    other: object | None = None  # the other person of a direct conversation
    presence: Presence | None = None  # theirs
    unread: dict[str, int] = field(default_factory=dict)  # stream key -> unread messages
    mentions: dict[str, int] = field(default_factory=dict)  # stream key -> unread mentions of me

    @property
    def unread_total(self) -> int:
        return sum(self.unread.values())

    @property
    def mentions_total(self) -> int:
        return sum(self.mentions.values())


@dataclass
class Sidebar:
    channels: list[SidebarItem]
    direct: list[SidebarItem]
    status: Presence  # what I chose, for my status form

    @property
    def unread_total(self) -> int:
        return sum(item.unread_total for item in self.channels + self.direct)

    def unread_by_channel(self) -> dict[int, tuple[str, int]]:
        """Per channel: a stream to watch for its count, and its unread messages over all its streams."""
        return {
            item.channel_id: (next(iter(item.unread), ""), item.unread_total) for item in self.channels + self.direct
        }

    @property
    def state(self) -> dict:
        """What static/js/sidebar.js starts from: per channel, its unread messages and mentions per stream."""
        return {
            str(item.channel_id): {"unread": item.unread, "mentions": item.mentions, "direct": item.is_direct}
            for item in self.channels + self.direct
        }


def sidebar_for(user) -> Sidebar:
    memberships = list(
        Membership.objects.filter(user=user).select_related("channel").order_by(Lower("channel__name"), "channel_id")
    )
    items = {
        membership.channel_id: SidebarItem(
            channel_id=membership.channel_id,
            name=membership.channel.name,
            is_direct=membership.channel.is_direct,
            is_private=membership.channel.is_private,
        )
        for membership in memberships
    }
    direct = [item for item in items.values() if item.is_direct]
    _add_counts(user, items, _stream_keys(user, memberships))
    _add_other_party(user, direct)
    store = presence_store()
    statuses = store.get_many([item.other.pk for item in direct if item.other is not None])
    for item in direct:
        if item.other is not None:
            item.name = item.other.username
            item.presence = statuses.get(item.other.pk)
    direct.sort(key=lambda item: (item.name.lower(), item.channel_id))
    return Sidebar(
        channels=[item for item in items.values() if not item.is_direct],
        direct=direct,
        status=store.own_status(user.pk),
    )


def _stream_keys(user, memberships: list[Membership]) -> list[str]:
    """The streams I receive (as chat.services.reads.member_stream_keys), from the memberships at hand
    and my moderator seats."""
    keys = []
    for membership in memberships:
        if not membership.channel.is_elastic:
            keys.append(str(StreamKey(membership.channel_id)))
        elif membership.subchannel_id is not None:
            keys.append(str(StreamKey(membership.channel_id, membership.subchannel_id)))
    seats = ModeratorSeat.objects.filter(membership__user=user).values_list("membership__channel_id", "subchannel_id")
    keys.extend(str(StreamKey(channel_id, subchannel_id)) for channel_id, subchannel_id in seats)
    return keys


def _add_counts(user, items: dict[int, SidebarItem], keys: list[str]) -> None:
    """Unread messages and mentions per stream past my read marker: the markers, then two grouped
    counts (streams never read, and past the marker: a join the database walks by (stream, seq))."""
    for raw in keys:
        item = items.get(StreamKey.parse(raw).channel_id)
        if item is not None:
            item.unread[raw] = item.mentions[raw] = 0
    if not keys:
        return
    markers = dict(ReadMarker.objects.filter(user=user, stream_id__in=keys).values_list("stream_id", "last_read_seq"))
    unread = Message.objects.unread_by(user)
    never_read = unread.filter(stream_id__in=[key for key in keys if key not in markers])
    # One filter() call, so the seq comparison uses this user's marker row of the same join.
    past_marker = unread.filter(
        stream_id__in=list(markers),
        stream__read_markers__user=user,
        seq__gt=F("stream__read_markers__last_read_seq"),
    )
    mention = Q(html__icontains=f'<span class="mention">@{user.username}</span>') | Q(
        reply_to__author=user, reply_to__redacted_at__isnull=True
    )
    for query in (never_read, past_marker):
        rows = query.values("stream_id").annotate(count=Count("pk"), mentions=Count("pk", filter=mention))
        for stream_id, count, mentions in rows.values_list("stream_id", "count", "mentions"):
            item = items.get(StreamKey.parse(stream_id).channel_id)
            if item is not None:
                item.unread[stream_id] = count
                item.mentions[stream_id] = count if item.is_direct else mentions


def _add_other_party(user, direct: list[SidebarItem]) -> None:
    by_channel = {item.channel_id: item for item in direct}
    if not by_channel:
        return
    for membership in (
        Membership.objects.filter(channel_id__in=list(by_channel)).exclude(user=user).select_related("user")
    ):
        by_channel[membership.channel_id].other = membership.user
