"""Latency in buckets: the per-delivery accumulator and reading quantiles back from bucket counts.

A delivery is the hottest path of the app (one per socket per event: 10,000 a second at 1000
members and 10 messages/s), so recording one costs a clock read, a bisect and two list updates on
the event loop's thread, with no lock and no file write. Once a second the loop hands what it
gathered, per channel, to the listeners (Prometheus' histogram, the CloudWatch batch, the
dashboards' rollup) and starts again.

A bucket list has one count per bound of `bounds` (values at or below it, above the previous
one), one for anything slower, then the sum and the largest value (seconds).
"""

from __future__ import annotations

import asyncio
import logging
import time
from bisect import bisect_left
from collections.abc import Callable, Iterable, Sequence

log = logging.getLogger(__name__)

FLUSH_SECONDS = 1.0


def empty(bounds: Sequence[float]) -> list[float]:
    return [0] * (len(bounds) + 1) + [0.0, 0.0]


def record(buckets: list[float], bounds: Sequence[float], seconds: float) -> None:
    buckets[bisect_left(bounds, seconds)] += 1
    buckets[-2] += seconds
    if seconds > buckets[-1]:
        buckets[-1] = seconds


def merge(into: list[float], other: Sequence[float]) -> list[float]:
    """Add `other`'s counts and sum to `into`, keep the larger maximum; returns `into`."""
    for index in range(len(into) - 1):
        into[index] += other[index]
    into[-1] = max(into[-1], other[-1])
    return into


def count(buckets: Sequence[float]) -> int:
    return int(sum(buckets[:-2]))


def quantile(buckets: Sequence[float], bounds: Sequence[float], q: float) -> float | None:
    """The q-quantile (seconds), interpolated inside its bucket as Prometheus' histogram_quantile
    does; the slowest bucket is read up to the largest value seen. None without observations."""
    counts, largest = buckets[: len(bounds) + 1], buckets[-1]
    total = sum(counts)
    if not total:
        return None
    rank = q * total
    seen = 0.0
    for index, in_bucket in enumerate(counts):
        if in_bucket and seen + in_bucket >= rank:
            low = bounds[index - 1] if index else 0.0
            high = bounds[index] if index < len(bounds) else max(largest, low)
            return min(low + (high - low) * (rank - seen) / in_bucket, largest or high)
        seen += in_bucket
    return largest


def spread(buckets: Sequence[float], bounds: Sequence[float], points: int = 100) -> list[float]:
    """At most `points` values (seconds) spread over the distribution like the observations: the
    quantiles at the middle of `points` equal slices. CloudWatch takes at most 100 values of a
    metric per line and weighs each the same, so a batch of any size is sent as these."""
    total = count(buckets)
    wanted = min(points, total)
    values = [quantile(buckets, bounds, (index + 0.5) / wanted) for index in range(wanted)]
    return [value for value in values if value is not None]


Listener = Callable[[dict, Sequence[float]], None]


class Accumulator:
    """Deliveries gathered on one event loop, per channel, handed to the listeners every second."""

    __slots__ = ("bounds", "by_channel", "listeners", "_handle", "_loop", "_clock")

    def __init__(self, bounds: Sequence[float], clock: Callable[[], float] = time.time) -> None:
        self.bounds = tuple(bounds)
        self.by_channel: dict[object, list[float]] = {}
        self.listeners: list[Listener] = []
        self._handle: asyncio.TimerHandle | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._clock = clock

    def add(self, committed_at: float, channel: object) -> None:
        """One delivery of an event committed at `committed_at` (time.time() of the publisher)."""
        seconds = self._clock() - committed_at
        if seconds < 0:
            seconds = 0.0  # another host's clock a little ahead
        buckets = self.by_channel.get(channel)
        if buckets is None:  # the channel's first delivery this second: make sure a flush is coming
            buckets = self.by_channel[channel] = empty(self.bounds)
            self._schedule()
        buckets[bisect_left(self.bounds, seconds)] += 1
        buckets[-2] += seconds
        if seconds > buckets[-1]:
            buckets[-1] = seconds

    def _schedule(self) -> None:
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return  # outside an event loop (a test, a thread): flushed by whoever calls flush()
        if self._handle is not None and self._loop is loop:
            return  # (a flush planned on a loop that has since closed does not count)
        self._loop, self._handle = loop, loop.call_later(FLUSH_SECONDS, self.flush)

    def flush(self) -> None:
        """Hand what was gathered to every listener, each independently of the others' failures."""
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None
        gathered, self.by_channel = self.by_channel, {}
        if not gathered:
            return
        for listener in list(self.listeners):
            try:
                listener(gathered, self.bounds)
            except Exception:
                log.exception("event=metrics_flush_failed listener=%r", listener)


def total(gathered: dict, bounds: Sequence[float]) -> list[float]:
    """The buckets of every channel together."""
    return merge_all(gathered.values(), bounds)


def merge_all(lists: Iterable[Sequence[float]], bounds: Sequence[float]) -> list[float]:
    combined = empty(bounds)
    for buckets in lists:
        merge(combined, buckets)
    return combined
