"""The streams one socket follows, and the hub groups behind them.

For each stream: the last `seq` sent to the tab. A stream is followed as a member (the
person's channels, their elastic seat, their moderator seats) or only while viewing a public
channel; either way its group is joined once through this process's hub.
"""

from __future__ import annotations

from collections.abc import Iterable

from chat.realtime.hub import Hub, Subscriber
from chat.streams import StreamKey


class Following:
    def __init__(self, hub: Hub, subscriber: Subscriber) -> None:
        self.hub = hub
        self.subscriber = subscriber
        self.seqs: dict[str, int] = {}  # stream key -> last seq sent to this tab
        self.member: set[str] = set()
        self.viewing: set[str] = set()  # public streams followed while viewing, without membership
        self.groups: set[str] = set()  # groups this socket receives through the hub

    def __contains__(self, key: str) -> bool:
        return key in self.seqs

    def in_channel(self, channel_id: int, keys: Iterable[str] | None = None) -> list[str]:
        return [key for key in (self.seqs if keys is None else keys) if StreamKey.parse(key).channel_id == channel_id]

    async def join(self, group: str) -> None:
        self.groups.add(group)
        await self.hub.join(group, self.subscriber)

    async def leave_all(self) -> None:
        for group in list(self.groups):
            await self._leave(group)

    async def follow(self, keys: Iterable[str], *, member: bool) -> None:
        for key in keys:
            await self.join(StreamKey.parse(key).group)
            if member:
                self.member.add(key)
            else:
                self.viewing.add(key)

    async def unfollow(self, key: str) -> None:
        await self._leave(StreamKey.parse(key).group)
        self.seqs.pop(key, None)
        self.member.discard(key)
        self.viewing.discard(key)

    async def become_member_of(self, keys: set[str]) -> tuple[list[str], list[str], list[str]]:
        """Membership changed: follow `keys` as a member, drop member streams not among them.

        Returns (removed, added, fresh): streams no longer followed, streams now followed as a
        member, and those of them not followed before (their seq still has to be read)."""
        removed = []
        for key in sorted(self.member - keys):
            if key in self.viewing:
                self.member.discard(key)  # still viewing a public channel left
                continue
            await self.unfollow(key)
            removed.append(key)
        added = sorted(keys - self.member)
        fresh = [key for key in added if key not in self.seqs]
        await self.follow(added, member=True)
        self.viewing -= set(added)
        return removed, added, fresh

    async def _leave(self, group: str) -> None:
        self.groups.discard(group)
        await self.hub.leave(group, self.subscriber)
