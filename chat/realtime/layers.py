"""Channels' in-memory layer, without its quadratic housekeeping, fit for the hub (chat/realtime/hub.py).

The stock InMemoryChannelLayer scans every channel and group for expired entries on every
receive and every group_send: O(sockets) work per delivery, so a message to a room of N
members costs O(N^2). Profiling the fan-out benchmark with 1000 members put 58% of the
server's CPU there. Expiry is measured in tens of seconds, so scanning at most once a second
changes nothing a client can observe.

It also drops a channel from every group when one of its messages expires; for the hub's
channel, which serves every socket of the process, that would end all delivery, so only the
message goes (sockets repair the gap). And it reads `channel_capacity` without compiling the
patterns, as the base layer's `get_capacity` expects.
"""

from __future__ import annotations

import time

from channels.layers import InMemoryChannelLayer as StockInMemoryChannelLayer

from chat.realtime.hub import CHANNEL_PREFIX as HUB_CHANNEL_PREFIX

CLEAN_EVERY_SECONDS = 1.0


class InMemoryChannelLayer(StockInMemoryChannelLayer):
    _last_cleaned = 0.0

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.channel_capacity = self.compile_capacities(self.channel_capacity)

    def _clean_expired(self) -> None:
        now = time.monotonic()
        if now - self._last_cleaned < CLEAN_EVERY_SECONDS:
            return
        self._last_cleaned = now
        super()._clean_expired()

    def _remove_from_groups(self, channel: str) -> None:
        if not channel.startswith(f"{HUB_CHANNEL_PREFIX}."):
            super()._remove_from_groups(channel)
