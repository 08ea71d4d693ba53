"""The app's metrics: what the code records, in one place (names.py names every figure).

    from hobbies import metrics
    metrics.message_published(channel_id)          # after the commit that stored it
    metrics.message_error("rate_limited", channel_id)
    metrics.delivered(committed_at, channel_id)     # per socket write: the hot path
    metrics.connection_opened() / connection_closed()
    metrics.signed_in("password")
    metrics.relay_lag(seconds)                      # the Chime relay, after applying a record
    metrics.http_request(view, method, status, seconds)   # http.py's middleware

Each figure goes to Prometheus (prometheus.py; /metrics, views.py) and, with
METRICS_CLOUDWATCH=true, to the process's batch of embedded-metric-format lines (emf.py).
Recording never raises into the caller. This package imports nothing of the chat or the accounts
(an import-linter contract); figures that need the database (active users) are computed by a
callable the chat registers in `scrape_sources` (chat/apps.py).
"""

from __future__ import annotations

import logging

from django.conf import settings

from hobbies.metrics import emf, latency, names
from hobbies.metrics_dir import drop_empty_setting

drop_empty_setting()  # before prometheus_client is imported: it would write its files in the current folder
from hobbies.metrics import prometheus as _prometheus  # noqa: E402

log = logging.getLogger(__name__)

_batch = emf.Batch()
_connections = 0
_serving = False  # a server process: its line carries ActiveConnections even while it is 0


def _cloudwatch() -> bool:
    return bool(getattr(settings, "METRICS_CLOUDWATCH", False))


def _emitter_connections() -> int | None:
    return _connections if _serving or _connections else None


emitter = emf.Emitter(
    _batch,
    namespace=lambda: settings.METRICS_NAMESPACE,
    interval=lambda: settings.METRICS_FLUSH_SECONDS,
    connections=_emitter_connections,
)


def _to_cloudwatch() -> bool:
    """True when the figure goes to CloudWatch too; starts the process's writer the first time."""
    if not _cloudwatch():
        return False
    emitter.start()
    return True


# Deliveries: gathered per channel on the event loop (latency.py), handed on once a second.
deliveries = latency.Accumulator(names.LATENCY_BOUNDS)


def _deliveries_to_prometheus(gathered: dict, bounds) -> None:
    _prometheus.add_deliveries(latency.total(gathered, bounds))


def _deliveries_to_cloudwatch(gathered: dict, bounds) -> None:
    if _to_cloudwatch():
        _batch.add_deliveries(gathered, bounds)


deliveries.listeners += [_deliveries_to_prometheus, _deliveries_to_cloudwatch]


def delivered(committed_at: float | None, channel: object) -> None:
    """An event written to a socket; `committed_at` is time.time() when it was published (after its
    commit). A few hundred nanoseconds: no lock, no file, nothing but the accumulator."""
    if committed_at is not None:
        deliveries.add(committed_at, channel)


def flush_deliveries() -> None:
    """Hand the gathered deliveries on now (the loop does it every second)."""
    deliveries.flush()


def message_published(channel: object) -> None:
    try:
        _prometheus.messages_published.inc()
        if _to_cloudwatch():
            _batch.published(channel)
    except Exception:
        log.exception("event=metrics_failed metric=messages_published")


def message_error(code: str, channel: object = None) -> None:
    try:
        _prometheus.message_errors.labels(code=code).inc()
        if _to_cloudwatch():
            _batch.error(code, channel)
    except Exception:
        log.exception("event=metrics_failed metric=message_errors")


def connection_opened() -> None:
    global _connections
    _connections += 1
    _prometheus.websocket_connections.inc()


def connection_closed() -> None:
    global _connections
    _connections -= 1
    _prometheus.websocket_connections.dec()


def open_connections() -> int:
    """Open sockets now: of every worker of the deployment (multiprocess mode), else of this process."""
    if _prometheus.multiprocess_directory():
        return int(_prometheus.live_sum(names.WEBSOCKET_CONNECTIONS.prometheus))
    return _connections


def signed_in(method: str) -> None:
    try:
        _prometheus.sign_ins.labels(method=method).inc()
        if _to_cloudwatch():
            _batch.signed_in(method)
    except Exception:
        log.exception("event=metrics_failed metric=sign_ins")


def relay_lag(seconds: float | None) -> None:
    """The Chime relay's lag: when it applied its last record, how long after that record reached the
    stream. `manage.py chime_relay` reports the relay's figure (chat/backends/chime/relay.py,
    RelayMetrics.lag_seconds) before each round; any relay reports its own the same way."""
    if seconds is None:
        return
    try:
        _prometheus.relay_lag.set(seconds)
        if _to_cloudwatch():
            _batch.relay_lag(seconds)
    except Exception:
        log.exception("event=metrics_failed metric=relay_lag")


def http_request(view: str, method: str, status: int, seconds: float) -> None:
    try:
        _prometheus.http_requests.labels(view=view, method=method, status=str(status)).inc()
        _prometheus.http_latency.labels(view=view).observe(seconds)
        if _to_cloudwatch():
            _batch.http_request(view, status, seconds)
    except Exception:
        log.exception("event=metrics_failed metric=http_requests")


def serving() -> None:
    """Called by the server process at start: its line reports ActiveConnections from the start."""
    global _serving
    _serving = True
    if _cloudwatch():
        emitter.start()


def register_scrape_source(metric: names.Metric, source) -> None:
    """`source()` returns {label values: value}; called at every scrape of /metrics."""
    _prometheus.scrape_sources[metric] = source


def exposition() -> bytes:
    """The Prometheus text of every figure (views.py serves it at /metrics)."""
    return _prometheus.exposition()
