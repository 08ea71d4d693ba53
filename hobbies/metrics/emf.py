"""CloudWatch: the figures as embedded-metric-format (EMF) lines on stdout, batched.

With METRICS_CLOUDWATCH=true each process gathers its figures here and, every
METRICS_FLUSH_SECONDS, writes a few JSON lines that CloudWatch Logs turns into metrics in the
namespace METRICS_NAMESPACE: no API call, nothing on the hot path but a few additions under a lock.

- One line for the process: DeliveryLatency and HttpLatency (at most 100 values each, spread like
  the batch's observations: latency.spread), ActiveConnections, SignIns, RelayLag, and the errors
  that concern no channel; per sign-in method, view and error code figures as properties.
- One line per channel with activity: MessagesPublished and MessageErrors, with the channel, its
  error codes and its delivery latency (count, p50, p99, largest) as properties.

Every metric has no dimension (the alarms and the dashboard of cloudformation/template.yaml read
them so); a channel, a view or a code is a property, so it costs nothing in CloudWatch and can be
queried in Logs Insights (docs/operations.md).
"""

from __future__ import annotations

import atexit
import json
import logging
import os
import sys
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

from hobbies.metrics import latency, names

log = logging.getLogger(__name__)

MAX_VALUES = 100  # values of one metric in one line (the format's limit)


def _ms(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds * 1000, 3)


class Batch:
    """What one process gathered since its last line; every method may be called from any thread."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self._reset()

    def _reset(self) -> None:
        self.channels: dict[Any, dict[str, Any]] = {}
        self.errors: dict[str, int] = {}  # code -> count, for refusals with no channel
        self.deliveries = latency.empty(names.LATENCY_BOUNDS)
        self.sign_ins: dict[str, int] = {}
        self.views: dict[str, dict[str, Any]] = {}
        self.http = latency.empty(names.HTTP_BOUNDS)
        self.relay_lags: list[float] = []

    def _channel(self, channel: Any) -> dict[str, Any]:
        entry = self.channels.get(channel)
        if entry is None:
            entry = self.channels[channel] = {"published": 0, "codes": {}, "deliveries": None}
        return entry

    def published(self, channel: Any) -> None:
        with self.lock:
            self._channel(channel)["published"] += 1

    def error(self, code: str, channel: Any = None) -> None:
        with self.lock:
            codes = self._channel(channel)["codes"] if channel is not None else self.errors
            codes[code] = codes.get(code, 0) + 1

    def add_deliveries(self, gathered: dict, bounds: Sequence[float]) -> None:
        with self.lock:
            for channel, buckets in gathered.items():
                entry = self._channel(channel)
                entry["deliveries"] = latency.merge(entry["deliveries"] or latency.empty(bounds), buckets)
                latency.merge(self.deliveries, buckets)

    def signed_in(self, method: str) -> None:
        with self.lock:
            self.sign_ins[method] = self.sign_ins.get(method, 0) + 1

    def http_request(self, view: str, status: int, seconds: float) -> None:
        with self.lock:
            entry = self.views.get(view)
            if entry is None:
                entry = self.views[view] = {"count": 0, "errors": 0, "latency": latency.empty(names.HTTP_BOUNDS)}
            entry["count"] += 1
            entry["errors"] += status >= 500
            latency.record(entry["latency"], names.HTTP_BOUNDS, seconds)
            latency.record(self.http, names.HTTP_BOUNDS, seconds)

    def relay_lag(self, seconds: float) -> None:
        with self.lock:
            self.relay_lags.append(seconds)
            if len(self.relay_lags) > 10 * MAX_VALUES:
                self.relay_lags = sorted(self.relay_lags)[:: len(self.relay_lags) // MAX_VALUES]

    def take(self) -> Batch:
        """This batch's figures, leaving it empty."""
        with self.lock:
            taken = Batch()
            taken.__dict__.update({key: value for key, value in self.__dict__.items() if key != "lock"})
            self._reset()
        return taken


def document(namespace: str, timestamp_ms: int, metrics: dict[str, tuple[float | list, str]], **properties) -> dict:
    """One EMF document: `metrics` maps a CloudWatch name to (value or values, unit); no dimension."""
    present = {name: value for name, value in metrics.items() if value[0] not in (None, [])}
    return {
        "_aws": {
            "Timestamp": timestamp_ms,
            "CloudWatchMetrics": [
                {
                    "Namespace": namespace,
                    "Dimensions": [[]],
                    "Metrics": [{"Name": name, "Unit": unit} for name, (_, unit) in present.items()],
                }
            ],
        },
        **{name: value for name, (value, _) in present.items()},
        **{key: value for key, value in properties.items() if value not in (None, {}, [])},
    }


def _latency_properties(buckets: Sequence[float], bounds: Sequence[float]) -> dict[str, Any]:
    if not latency.count(buckets):
        return {}
    return {
        "p50_ms": _ms(latency.quantile(buckets, bounds, 0.5)),
        "p99_ms": _ms(latency.quantile(buckets, bounds, 0.99)),
        "max_ms": _ms(buckets[-1]),
    }


def documents(batch: Batch, *, namespace: str, connections: int | None, timestamp_ms: int | None = None) -> list[dict]:
    """The lines for one batch: the process's (always, when it serves sockets), then one per channel."""
    now = timestamp_ms if timestamp_ms is not None else int(time.time() * 1000)
    unit = {metric.cloudwatch: metric.unit for metric in names.ALL if metric.cloudwatch}
    bounds = names.LATENCY_BOUNDS
    delivered = latency.count(batch.deliveries)
    lags = batch.relay_lags
    if len(lags) > MAX_VALUES:
        lags = sorted(lags)[:: -(-len(lags) // MAX_VALUES)]
    process = document(
        namespace,
        now,
        {
            "ActiveConnections": (connections, unit["ActiveConnections"]),
            "SignIns": (sum(batch.sign_ins.values()) or None, unit["SignIns"]),
            "MessageErrors": (sum(batch.errors.values()) or None, unit["MessageErrors"]),
            "DeliveryLatency": ([_ms(v) for v in latency.spread(batch.deliveries, bounds)], unit["DeliveryLatency"]),
            "HttpRequests": (sum(view["count"] for view in batch.views.values()) or None, unit["HttpRequests"]),
            "HttpLatency": ([_ms(v) for v in latency.spread(batch.http, names.HTTP_BOUNDS)], unit["HttpLatency"]),
            "RelayLag": ([_ms(v) for v in lags], unit["RelayLag"]),
        },
        event="metrics",
        pid=os.getpid(),
        sign_in_methods=batch.sign_ins,
        error_codes=batch.errors,
        deliveries=delivered or None,
        delivery_latency=_latency_properties(batch.deliveries, bounds),
        views={
            view: {
                "count": entry["count"],
                "errors": entry["errors"],
                **_latency_properties(entry["latency"], names.HTTP_BOUNDS),
            }
            for view, entry in sorted(batch.views.items())
        },
    )
    lines = [process] if len(process["_aws"]["CloudWatchMetrics"][0]["Metrics"]) or connections is not None else []
    for channel, entry in sorted(batch.channels.items(), key=lambda item: str(item[0])):
        errors = sum(entry["codes"].values())
        buckets = entry["deliveries"]
        lines.append(
            document(
                namespace,
                now,
                {
                    "MessagesPublished": (entry["published"] or None, unit["MessagesPublished"]),
                    "MessageErrors": (errors or None, unit["MessageErrors"]),
                },
                event="channel_metrics",
                channel=channel,
                error_codes=entry["codes"],
                deliveries=latency.count(buckets) if buckets else None,
                delivery_latency=_latency_properties(buckets, bounds) if buckets else None,
            )
        )
    return lines


def _stdout(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


class Emitter:
    """Writes the batch every `interval` seconds from a daemon thread, and once more at exit."""

    def __init__(
        self,
        batch: Batch,
        *,
        namespace: Callable[[], str],
        interval: Callable[[], float],
        connections: Callable[[], int | None],
        write: Callable[[str], None] = _stdout,
    ) -> None:
        self.batch, self.namespace, self.interval, self.connections = batch, namespace, interval, connections
        self.write = write
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._write_lock = threading.Lock()

    def start(self) -> None:
        if self._thread is not None and self._thread.is_alive():
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="metrics-emf", daemon=True)
        self._thread.start()
        atexit.register(self.flush)

    def _run(self) -> None:
        while not self._stop.wait(self.interval()):
            self.flush()

    def flush(self) -> int:
        """Write what was gathered now; returns how many lines."""
        try:
            lines = documents(self.batch.take(), namespace=self.namespace(), connections=self.connections())
            with self._write_lock:
                for line in lines:
                    self.write(json.dumps(line, separators=(",", ":"), default=str))
            return len(lines)
        except Exception:
            log.exception("event=metrics_emf_failed")
            return 0

    def stop(self) -> None:
        self._stop.set()
