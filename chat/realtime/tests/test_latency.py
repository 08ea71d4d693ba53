"""chat/realtime/latency.py: each server process's delivery latency reaches the dashboards' rollup."""

from __future__ import annotations

import asyncio
import time

import pytest
from django.utils import timezone

from chat.models import ChannelHour
from chat.realtime import latency as rollup
from chat.services.activity import hour_of
from hobbies import metrics
from hobbies.metrics import latency


@pytest.fixture
def fresh(monkeypatch):
    monkeypatch.setattr(rollup, "_pending", {})
    monkeypatch.setattr(metrics, "deliveries", latency.Accumulator(metrics.names.LATENCY_BOUNDS))
    metrics.deliveries.listeners.append(rollup.gathered)


@pytest.mark.django_db(transaction=True)
async def test_deliveries_are_written_per_channel_and_hour(fresh, make_user, make_channel):
    from asgiref.sync import sync_to_async

    owner = await sync_to_async(make_user)("owner")
    channel = await sync_to_async(make_channel)(owner, name="Room")
    for seconds in (0.002, 0.004, 0.3):
        metrics.delivered(time.time() - seconds, channel.pk)
    metrics.delivered(time.time(), None)  # an event of no channel is not in the rollup
    await rollup.write_now()
    row = await ChannelHour.objects.aget(channel=channel, hour=hour_of(timezone.now()))
    assert row.deliveries == 3
    assert latency.count(row.latency) == 3
    # The histogram stores float32 sums: 0.3 comes back as 0.29999995.
    assert 0.299 <= row.latency[-1] < 0.5


async def test_the_loop_writes_a_minute_after_the_first_delivery(fresh, monkeypatch):
    monkeypatch.setattr(rollup, "ROLLUP_SECONDS", 0.05)
    written = []

    async def record(batch):
        written.append(batch)

    monkeypatch.setattr(rollup, "_write", record)
    rollup.gathered({7: latency.empty(metrics.names.LATENCY_BOUNDS)}, metrics.names.LATENCY_BOUNDS)
    rollup.gathered({7: latency.empty(metrics.names.LATENCY_BOUNDS), "x": []}, metrics.names.LATENCY_BOUNDS)
    await asyncio.sleep(0.2)
    assert len(written) == 1
    [(channel, _)] = written[0]
    assert channel == 7


def test_connect_registers_once():
    rollup.connect()
    rollup.connect()
    assert metrics.deliveries.listeners.count(rollup.gathered) == 1
