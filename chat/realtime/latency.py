"""Delivery latency into the dashboards' rollup: each server process's figures, once a minute.

Every second the event loop hands hobbies.metrics the deliveries it wrote, per channel
(hobbies/metrics/latency.py); this listener adds them up per channel and hour and, a minute after
the first, writes them with one service call (services.rollup.add_deliveries) on the sockets'
database thread. A process that stops loses at most its last minute, in the dashboards only.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from datetime import datetime

from channels.db import database_sync_to_async
from django.utils import timezone

from chat.services import activity, rollup
from hobbies import metrics
from hobbies.metrics import latency

log = logging.getLogger(__name__)

ROLLUP_SECONDS = 60.0

_pending: dict[tuple[int, datetime], list[float]] = {}
_writing: set[asyncio.Task] = set()


def gathered(per_channel: dict, bounds: Sequence[float]) -> None:
    """hobbies.metrics' listener, on the event loop: keep this second's deliveries for the rollup."""
    hour = activity.hour_of(timezone.now())
    first = not _pending
    for channel, buckets in per_channel.items():
        if not isinstance(channel, int):
            continue  # an event of no channel
        key = (channel, hour)
        _pending[key] = latency.merge(_pending.get(key) or latency.empty(bounds), buckets)
    if first and _pending:
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return  # handed on outside an event loop: written by the next write_now()
        loop.call_later(ROLLUP_SECONDS, write_soon)


def write_soon() -> asyncio.Task | None:
    if not _pending:
        return None
    batch = dict(_pending)
    _pending.clear()
    task = asyncio.get_running_loop().create_task(_write(batch))
    _writing.add(task)
    task.add_done_callback(_writing.discard)
    return task


async def _write(batch: dict) -> None:
    try:
        await database_sync_to_async(rollup.add_deliveries)(batch)
    except Exception:
        log.exception("event=latency_rollup_failed channels=%d", len({channel for channel, _ in batch}))


async def write_now() -> None:
    """Hand on what the loop gathered and write it at once (tests, and a server about to stop)."""
    metrics.flush_deliveries()
    task = write_soon()
    if task is not None:
        await task


def connect() -> None:
    if gathered not in metrics.deliveries.listeners:
        metrics.deliveries.listeners.append(gathered)
