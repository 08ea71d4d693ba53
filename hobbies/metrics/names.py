"""Every metric the app produces, named once: its Prometheus name, its CloudWatch name and unit.

Prometheus gets seconds and `_total` counters; CloudWatch (embedded-metric-format lines, namespace
METRICS_NAMESPACE) gets milliseconds, with no dimension: what concerns one channel, view or error
code travels as a property of the line (dimensions are billed per value). The alarms and the
dashboard of cloudformation/template.yaml read the CloudWatch names below.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Metric:
    prometheus: str  # the exposed name
    cloudwatch: str  # "" when only Prometheus has it
    unit: str  # CloudWatch's unit
    kind: str  # counter, gauge or histogram (Prometheus)
    help: str
    labels: tuple[str, ...] = ()


MESSAGES_PUBLISHED = Metric(
    "hobbies_messages_published_total", "MessagesPublished", "Count", "counter", "Messages stored and published."
)
MESSAGE_ERRORS = Metric(
    "hobbies_message_errors_total",
    "MessageErrors",
    "Count",
    "counter",
    "Sends and edits refused or failed, by protocol error code.",
    ("code",),
)
DELIVERY_LATENCY = Metric(
    "hobbies_delivery_latency_seconds",
    "DeliveryLatency",
    "Milliseconds",
    "histogram",
    "From the commit of an event to its write to a socket, measured on the server.",
)
WEBSOCKET_CONNECTIONS = Metric(
    "hobbies_websocket_connections", "ActiveConnections", "Count", "gauge", "Open WebSockets."
)
SIGN_INS = Metric("hobbies_sign_ins_total", "SignIns", "Count", "counter", "Successful sign-ins.", ("method",))
ACTIVE_USERS = Metric(
    "hobbies_active_users",
    "MonthlyActiveUsers",  # the month's figure; manage.py publish_metrics sends it once a day
    "Count",
    "gauge",
    "People who signed in or sent a message in the window (day or month).",
    ("window",),
)
RELAY_LAG = Metric(
    "hobbies_relay_lag_seconds",
    "RelayLag",
    "Milliseconds",
    "gauge",
    "Chime relay: the age of the last record applied, when it was applied.",
)
HTTP_REQUESTS = Metric(
    "hobbies_http_requests_total",
    "HttpRequests",
    "Count",
    "counter",
    "HTTP requests answered, by view, method and status.",
    ("view", "method", "status"),
)
HTTP_LATENCY = Metric(
    "hobbies_http_request_duration_seconds",
    "HttpLatency",
    "Milliseconds",
    "histogram",
    "Time to answer an HTTP request (the whole middleware stack), by view.",
    ("view",),
)

ALL = (
    MESSAGES_PUBLISHED,
    MESSAGE_ERRORS,
    DELIVERY_LATENCY,
    WEBSOCKET_CONNECTIONS,
    SIGN_INS,
    ACTIVE_USERS,
    RELAY_LAG,
    HTTP_REQUESTS,
    HTTP_LATENCY,
)
CLOUDWATCH = {metric.cloudwatch: metric for metric in ALL if metric.cloudwatch}

# Histogram buckets (upper bounds, seconds); the dashboards' rollup keeps delivery latency in the
# same buckets, plus one for anything slower.
LATENCY_BOUNDS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
HTTP_BOUNDS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.2, 0.5, 1.0, 2.5, 5.0)
