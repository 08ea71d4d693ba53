"""hobbies/metrics/prometheus.py: the collectors and the text /metrics serves."""

from __future__ import annotations

import random

from prometheus_client import REGISTRY, CollectorRegistry, Histogram
from prometheus_client.parser import text_string_to_metric_families

from hobbies.metrics import latency, names, prometheus


def sample(name: str, **labels) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def test_adding_a_batch_of_deliveries_equals_observing_each():
    rng = random.Random(3)
    values = [rng.expovariate(20) for _ in range(2000)]
    expected = Histogram(
        "check_latency_seconds", "same buckets", buckets=names.LATENCY_BOUNDS, registry=CollectorRegistry()
    )
    buckets = latency.empty(names.LATENCY_BOUNDS)
    for value in values:
        expected.observe(value)
        latency.record(buckets, names.LATENCY_BOUNDS, value)
    before = {bound: sample("hobbies_delivery_latency_seconds_bucket", le=bound) for bound in ("0.005", "0.1", "+Inf")}
    sum_before = sample("hobbies_delivery_latency_seconds_sum")
    prometheus.add_deliveries(buckets)
    for bound in before:
        cumulative = next(
            s.value for s in expected.collect()[0].samples if s.name.endswith("_bucket") and s.labels["le"] == bound
        )
        assert sample("hobbies_delivery_latency_seconds_bucket", le=bound) - before[bound] == cumulative
    assert abs(sample("hobbies_delivery_latency_seconds_sum") - sum_before - sum(values)) < 1e-6


def test_the_exposition_has_every_figure_of_the_table():
    prometheus.scrape_sources[names.ACTIVE_USERS] = lambda: {("day",): 3, ("month",): 11}
    try:
        text = prometheus.exposition().decode()
    finally:
        del prometheus.scrape_sources[names.ACTIVE_USERS]
    families = {family.name: family for family in text_string_to_metric_families(text)}
    for metric in names.ALL:
        base = metric.prometheus.removesuffix("_total")
        assert base in families, base
        assert families[base].type == metric.kind
    active = {s.labels["window"]: s.value for s in families["hobbies_active_users"].samples}
    assert active == {"day": 3, "month": 11}


def test_a_scrape_source_that_fails_does_not_hide_the_rest(caplog):
    def broken():
        raise RuntimeError("database down")

    prometheus.scrape_sources[names.ACTIVE_USERS] = broken
    try:
        text = prometheus.exposition().decode()
    finally:
        del prometheus.scrape_sources[names.ACTIVE_USERS]
    assert "hobbies_messages_published_total" in text
    assert "hobbies_active_users{" not in text
    assert "metrics_scrape_source_failed" in caplog.text
