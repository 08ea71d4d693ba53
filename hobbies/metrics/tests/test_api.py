"""hobbies/metrics/__init__.py: what the code records reaches Prometheus and the CloudWatch batch."""

from __future__ import annotations

import time

import pytest
from prometheus_client import REGISTRY

from hobbies import metrics


def value(name: str, **labels) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


@pytest.fixture
def cloudwatch(settings, monkeypatch):
    """METRICS_CLOUDWATCH=true with the writer thread replaced: the batch is read by the test."""
    settings.METRICS_CLOUDWATCH = True
    monkeypatch.setattr(metrics.emitter, "start", lambda: None)
    metrics.flush_deliveries()  # what earlier tests (their sockets) left in this process's accumulator
    metrics._batch.take()
    return metrics._batch


def test_messages_and_errors_are_counted(cloudwatch):
    published = value("hobbies_messages_published_total")
    refused = value("hobbies_message_errors_total", code="slow_mode")
    metrics.message_published(5)
    metrics.message_error("slow_mode", 5)
    metrics.message_error("bad_json")
    assert value("hobbies_messages_published_total") - published == 1
    assert value("hobbies_message_errors_total", code="slow_mode") - refused == 1
    batch = cloudwatch.take()
    assert batch.channels[5]["published"] == 1
    assert batch.channels[5]["codes"] == {"slow_mode": 1}
    assert batch.errors == {"bad_json": 1}


def test_nothing_is_batched_for_cloudwatch_unless_asked(settings):
    settings.METRICS_CLOUDWATCH = False
    metrics._batch.take()
    metrics.message_published(5)
    metrics.signed_in("password")
    assert not metrics._batch.take().channels


def test_sign_ins_by_method(cloudwatch):
    before = value("hobbies_sign_ins_total", method="oidc")
    metrics.signed_in("oidc")
    assert value("hobbies_sign_ins_total", method="oidc") - before == 1
    assert cloudwatch.take().sign_ins == {"oidc": 1}


def test_open_connections_go_up_and_down():
    before, gauge = metrics.open_connections(), value("hobbies_websocket_connections")
    metrics.connection_opened()
    metrics.connection_opened()
    assert metrics.open_connections() - before == 2
    assert value("hobbies_websocket_connections") - gauge == 2
    metrics.connection_closed()
    metrics.connection_closed()
    assert metrics.open_connections() == before


def test_deliveries_reach_the_histogram_when_handed_on(cloudwatch):
    count = value("hobbies_delivery_latency_seconds_count")
    metrics.delivered(time.time() - 0.03, 9)
    metrics.delivered(time.time() - 0.3, 9)
    metrics.delivered(None, 9)  # an event without a publication time is not measured
    metrics.flush_deliveries()
    assert value("hobbies_delivery_latency_seconds_count") - count == 2
    assert cloudwatch.take().channels[9]["deliveries"][:11].count(0) == 9


def test_the_relay_lag_is_the_latest_value(cloudwatch):
    metrics.relay_lag(None)
    metrics.relay_lag(2.5)
    metrics.relay_lag(0.75)
    assert value("hobbies_relay_lag_seconds") == 0.75
    assert cloudwatch.take().relay_lags == [2.5, 0.75]


def test_recording_never_raises_into_the_caller(monkeypatch, caplog):
    monkeypatch.setattr(metrics._prometheus, "messages_published", None)
    metrics.message_published(1)
    assert "metrics_failed" in caplog.text
