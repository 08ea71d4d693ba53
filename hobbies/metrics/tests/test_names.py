"""hobbies/metrics/names.py: the names of issue 14's table, and those the AWS stack reads."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from hobbies.metrics import names

TEMPLATE = Path(__file__).resolve().parents[3] / "cloudformation" / "template.yaml"

# Issue 14's table: Prometheus name, CloudWatch name, CloudWatch unit.
TABLE = [
    (names.MESSAGES_PUBLISHED, "hobbies_messages_published_total", "MessagesPublished", "Count"),
    (names.MESSAGE_ERRORS, "hobbies_message_errors_total", "MessageErrors", "Count"),
    (names.DELIVERY_LATENCY, "hobbies_delivery_latency_seconds", "DeliveryLatency", "Milliseconds"),
    (names.WEBSOCKET_CONNECTIONS, "hobbies_websocket_connections", "ActiveConnections", "Count"),
    (names.SIGN_INS, "hobbies_sign_ins_total", "SignIns", "Count"),
    (names.ACTIVE_USERS, "hobbies_active_users", "MonthlyActiveUsers", "Count"),
    (names.RELAY_LAG, "hobbies_relay_lag_seconds", "RelayLag", "Milliseconds"),
]


@pytest.mark.parametrize(("metric", "prometheus", "cloudwatch", "unit"), TABLE, ids=[row[1] for row in TABLE])
def test_each_figure_has_the_names_of_the_table(metric, prometheus, cloudwatch, unit):
    assert (metric.prometheus, metric.cloudwatch, metric.unit) == (prometheus, cloudwatch, unit)


def test_labels_are_those_of_the_table():
    assert names.MESSAGE_ERRORS.labels == ("code",)
    assert names.SIGN_INS.labels == ("method",)
    assert names.ACTIVE_USERS.labels == ("window",)
    assert names.HTTP_REQUESTS.labels == ("view", "method", "status")
    assert names.HTTP_LATENCY.labels == ("view",)


def test_every_app_metric_the_stack_reads_is_named_here():
    """The alarms and the dashboard of cloudformation/template.yaml read these names in the namespace."""
    text = TEMPLATE.read_text()
    read = set(re.findall(r"MetricName: (\w+)", text)) | set(re.findall(r'"\$\{MetricsNamespace\}", "(\w+)"', text))
    from_the_app = read - {"PostAuthenticationErrors", "Errors", "GetRecords"}
    assert from_the_app
    assert from_the_app <= set(names.CLOUDWATCH)


def test_counters_end_in_total_and_durations_in_seconds():
    for metric in names.ALL:
        assert metric.prometheus.startswith("hobbies_")
        assert metric.prometheus.endswith("_total") == (metric.kind == "counter")
        if metric.unit == "Milliseconds":
            assert metric.prometheus.endswith("_seconds")
