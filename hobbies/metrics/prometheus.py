"""The Prometheus side: the collectors, several workers' figures summed, and the text for /metrics.

With one process the figures live in its memory. Several daphne workers on one host share a
directory (METRICS_DIR; `python -m hobbies.server` sets PROMETHEUS_MULTIPROC_DIR from it before
anything imports prometheus_client), where prometheus-client's multiprocess mode keeps each
process's values in memory-mapped files and a scrape of any worker adds them all up
(hobbies/metrics_dir.py says how a deployment's directory is cleaned).
"""

from __future__ import annotations

import glob
import logging
import os
from collections.abc import Callable, Iterable

from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client import multiprocess as prometheus_multiprocess
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.exposition import generate_latest

from hobbies.metrics import names
from hobbies.metrics_dir import ENV, forget_dead_processes

CONTENT_TYPE = CONTENT_TYPE_LATEST
log = logging.getLogger(__name__)


def multiprocess_directory() -> str | None:
    return os.environ.get(ENV) or None


def _counter(metric: names.Metric) -> Counter:
    return Counter(metric.prometheus.removesuffix("_total"), metric.help, metric.labels)


messages_published = _counter(names.MESSAGES_PUBLISHED)
message_errors = _counter(names.MESSAGE_ERRORS)
sign_ins = _counter(names.SIGN_INS)
http_requests = _counter(names.HTTP_REQUESTS)
delivery_latency = Histogram(
    names.DELIVERY_LATENCY.prometheus, names.DELIVERY_LATENCY.help, buckets=names.LATENCY_BOUNDS
)
http_latency = Histogram(
    names.HTTP_LATENCY.prometheus, names.HTTP_LATENCY.help, names.HTTP_LATENCY.labels, buckets=names.HTTP_BOUNDS
)
# Live gauges: the figures of the processes alive now, summed (connections) or the latest (lag).
websocket_connections = Gauge(
    names.WEBSOCKET_CONNECTIONS.prometheus, names.WEBSOCKET_CONNECTIONS.help, multiprocess_mode="livesum"
)
relay_lag = Gauge(names.RELAY_LAG.prometheus, names.RELAY_LAG.help, multiprocess_mode="livemostrecent")


def add_deliveries(buckets: list[float]) -> None:
    """A batch of deliveries (latency.py's bucket list, in LATENCY_BOUNDS) into the histogram at once.

    prometheus-client observes one value at a time, and in multiprocess mode each observation is a
    locked write to a memory-mapped file: far too much once per delivery. Its histogram keeps one
    value per bucket (`_buckets`, not cumulative) and the sum (`_sum`); adding a batch to those is
    what observing each value would have done (tests/ compare both)."""
    for index, in_bucket in enumerate(buckets[: len(names.LATENCY_BOUNDS) + 1]):
        if in_bucket:
            delivery_latency._buckets[index].inc(in_bucket)
    delivery_latency._sum.inc(buckets[-2])


def live_sum(name: str) -> float:
    """A live-sum gauge added up over the processes of the directory that are alive."""
    directory = multiprocess_directory()
    forget_dead_processes(directory)
    files = glob.glob(os.path.join(directory, "gauge_livesum_*.db"))  # noqa: PTH118, PTH207
    merged = prometheus_multiprocess.MultiProcessCollector.merge(files, accumulate=False)
    return sum(sample.value for family in merged if family.name == name for sample in family.samples)


# Figures read from the database when scraped (active users): callables returning {labels: value}.
scrape_sources: dict[names.Metric, Callable[[], dict[tuple[str, ...], float]]] = {}


class _ScrapeTimeCollector:
    def collect(self) -> Iterable[GaugeMetricFamily]:
        for metric, source in list(scrape_sources.items()):
            try:
                found = source()
            except Exception:
                log.exception("event=metrics_scrape_source_failed metric=%s", metric.prometheus)
                continue
            family = GaugeMetricFamily(metric.prometheus, metric.help, labels=metric.labels)
            for labels, value in found.items():
                family.add_metric(list(labels), value)
            yield family


def exposition() -> bytes:
    """The text format of every figure: this process's, or every process's of the directory."""
    directory = multiprocess_directory()
    registry = CollectorRegistry()
    if directory:
        forget_dead_processes(directory)
        prometheus_multiprocess.MultiProcessCollector(registry, path=directory)
        text = generate_latest(registry)
    else:
        text = generate_latest(REGISTRY)
    extra = CollectorRegistry()
    extra.register(_ScrapeTimeCollector())
    return text + generate_latest(extra)
