"""hobbies/metrics/latency.py: buckets, quantiles and the per-delivery accumulator."""

from __future__ import annotations

import asyncio
import random

import pytest

from hobbies.metrics import latency

BOUNDS = (0.01, 0.1, 1.0)


def test_record_counts_each_value_in_the_bucket_of_the_first_bound_at_or_above_it():
    buckets = latency.empty(BOUNDS)
    for value in (0.005, 0.01, 0.05, 0.5, 2.0):
        latency.record(buckets, BOUNDS, value)
    assert buckets[:4] == [2, 1, 1, 1]
    assert buckets[-2] == pytest.approx(2.565)
    assert buckets[-1] == 2.0
    assert latency.count(buckets) == 5


def test_quantiles_interpolate_inside_their_bucket_and_stop_at_the_largest_value():
    buckets = latency.empty(BOUNDS)
    for value in [0.02] * 50 + [0.08] * 50:  # all in (0.01, 0.1]
        latency.record(buckets, BOUNDS, value)
    assert latency.quantile(buckets, BOUNDS, 0.5) == pytest.approx(0.055)
    assert latency.quantile(buckets, BOUNDS, 0.99) == pytest.approx(0.08)  # never above the largest seen
    assert latency.quantile(latency.empty(BOUNDS), BOUNDS, 0.5) is None


@pytest.mark.parametrize("q", [0.5, 0.9, 0.99])
def test_quantiles_are_within_one_bucket_of_the_truth(q):
    rng = random.Random(7)
    values = sorted(rng.lognormvariate(-3, 1) for _ in range(5000))
    bounds = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)
    buckets = latency.empty(bounds)
    for value in values:
        latency.record(buckets, bounds, value)
    truth = values[int(q * len(values)) - 1]
    index = next(i for i, bound in enumerate(bounds) if truth <= bound)
    low, high = (bounds[index - 1] if index else 0), bounds[index]
    assert low <= latency.quantile(buckets, bounds, q) <= high


def test_spread_gives_at_most_a_hundred_values_shaped_like_the_observations():
    buckets = latency.empty(BOUNDS)
    for value in [0.005] * 900 + [0.5] * 100:
        latency.record(buckets, BOUNDS, value)
    values = latency.spread(buckets, BOUNDS)
    assert len(values) == 100
    assert sum(value <= 0.01 for value in values) == 90
    assert len(latency.spread(latency.empty(BOUNDS), BOUNDS)) == 0
    few = latency.empty(BOUNDS)
    latency.record(few, BOUNDS, 0.5)
    assert len(latency.spread(few, BOUNDS)) == 1


def test_merge_adds_counts_and_sums_and_keeps_the_largest():
    one, two = latency.empty(BOUNDS), latency.empty(BOUNDS)
    latency.record(one, BOUNDS, 0.5)
    latency.record(two, BOUNDS, 0.005)
    latency.record(two, BOUNDS, 3.0)
    merged = latency.merge(one, two)
    assert merged[:4] == [1, 0, 1, 1]
    assert merged[-1] == 3.0
    assert latency.total({1: one, 2: two}, BOUNDS)[-2] == pytest.approx(one[-2] + two[-2])


def test_the_accumulator_hands_each_channels_deliveries_to_every_listener():
    now = [100.0]
    accumulator = latency.Accumulator(BOUNDS, clock=lambda: now[0])
    received, failing = [], []

    def broken(gathered, bounds):
        failing.append(1)
        raise RuntimeError("a listener that fails does not stop the others")

    accumulator.listeners += [broken, lambda gathered, bounds: received.append(gathered)]
    accumulator.add(99.95, 7)  # 50 ms
    accumulator.add(99.995, 7)  # 5 ms
    accumulator.add(100.5, 8)  # a clock ahead: counted as 0
    accumulator.flush()
    assert failing == [1]
    [gathered] = received
    assert gathered[7][:4] == [1, 1, 0, 0]
    assert gathered[8][0] == 1
    accumulator.flush()
    assert len(received) == 1  # nothing new, nothing handed on


async def test_on_an_event_loop_the_accumulator_flushes_itself(monkeypatch):
    monkeypatch.setattr(latency, "FLUSH_SECONDS", 0.05)
    accumulator = latency.Accumulator(BOUNDS)
    received = []
    accumulator.listeners.append(lambda gathered, bounds: received.append(gathered))
    accumulator.add(accumulator._clock() - 0.02, "room")
    await asyncio.sleep(0.2)
    assert [list(gathered) for gathered in received] == [["room"]]
