"""Prometheus metrics of the whole service: every worker writes them, `/metrics` reads them all.

Under gunicorn, prometheus-client runs in multiprocess mode (`PROMETHEUS_MULTIPROC_DIR`, set up by
gunicorn.conf.py), so a scrape answered by one worker sums every worker's files. Requests are
observed in gunicorn's `pre_request`/`post_request` hooks, after the body went out (sendfile
included), so nothing wraps the response body. They are added up in memory and written to the
files by `flush`: each worker's event loop calls it once a second, a scrape before it reads, and a
worker before it exits (see `RequestTally`).
"""

from __future__ import annotations

import bisect
import glob
import os
import threading
import time
from collections import Counter as Counts
from collections.abc import Iterable, Iterator
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector

from artwork.metrics_dir import MULTIPROC_ENV

ROUTE_ENVIRON_KEY = "artwork.route"
"""The WSGI environ key where the app leaves the matched route for the post-request hook."""
UNMATCHED_ROUTE = "unmatched"
METRICS_ROUTE = "/metrics"
HEALTH_ROUTE = "/healthz"
METRICS_CONTENT_TYPE = CONTENT_TYPE_LATEST

_METRIC_FILE_HEADER_BYTES = 8
_NO_BODY_STATUSES = frozenset({204, 304})
_LATENCY_BUCKETS_SECONDS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

REQUESTS = Counter(
    "artwork_http_requests", "HTTP requests answered, by route and status", ["route", "status"]
)
LATENCY = Histogram(
    "artwork_http_request_duration_seconds",
    "Time from a parsed request head to the last byte handed to the kernel",
    ["route"],
    buckets=_LATENCY_BUCKETS_SECONDS,
)
SENT_BYTES = Counter("artwork_http_response_body_bytes", "Response body bytes sent, by route", ["route"])
IN_FLIGHT = Gauge(
    "artwork_http_requests_in_flight",
    "Requests being handled: the scraped worker's now, each other's as of its last second",
    multiprocess_mode="livesum",
)
REJECTIONS = Counter(
    "artwork_connections_rejected",
    "Connections refused, or dropped for a client too slow to send its request or take the answer, by reason",
    ["reason"],
)
WORKERS = Gauge("artwork_workers", "Live gunicorn worker processes", multiprocess_mode="livesum")
ZONE_CACHE_FOLLOWING = Gauge(
    "artwork_zone_cache_following",
    "Workers answering zone reads from memory, kept current by the change channel (else from Redis)",
    multiprocess_mode="livesum",
)

WAITERS = Gauge(
    "artwork_waiters",
    "Requests held until their zone changes (`?wait=`), without a thread",
    multiprocess_mode="livesum",
)
WAITS = Counter(
    "artwork_waits",
    "Requests with `?wait=` by how their wait ended: woken by a change, timed_out (304), closed by"
    " the client, stopped with the worker (304), or over_limit (answered at once)",
    ["outcome"],
)


class _Latencies:
    """Durations added up as a histogram does: a count per bucket (the last one +Inf) and their sum."""

    def __init__(self) -> None:
        self.counts = [0] * (len(_LATENCY_BUCKETS_SECONDS) + 1)
        self.sum_seconds = 0.0

    def add(self, duration_seconds: float) -> None:
        # The first bucket whose upper bound holds it, as Histogram.observe chooses.
        self.counts[bisect.bisect_left(_LATENCY_BUCKETS_SECONDS, duration_seconds)] += 1
        self.sum_seconds += duration_seconds

    def write_to(self, child: Any) -> None:
        """Add these to a histogram child, one write per bucket used instead of two per duration.

        prometheus-client has no public way to observe many at once; its child keeps a value for
        the sum and one per bucket, which this adds to as `observe` would (a unit test holds the two
        equal, should that ever change).
        """
        child._sum.inc(self.sum_seconds)
        for bucket, count in zip(child._buckets, self.counts, strict=True):
            if count:
                bucket.inc(count)


class RequestTally:
    """One worker's request figures, added up in memory and written to the shared files in `flush`.

    Each value prometheus-client writes in multiprocess mode takes one process-wide lock and an mmap
    write: five or six per request cost about 20 us of a 200 us request under load, threads
    queueing on that lock (bench/ http, 304s). Added up here under a lock of its own, they are
    written once a second instead: one write per route and status, and per latency bucket.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._in_flight = 0
        self._requests: Counts[tuple[str, int]] = Counts()
        self._body_bytes: Counts[str] = Counts()
        self._latencies: dict[str, _Latencies] = {}

    def started(self) -> float:
        """Count a request in flight; returns its start time for `finished`."""
        with self._lock:
            self._in_flight += 1
        return time.perf_counter()

    def finished(self, route: str, status: int, body_bytes: int, started: float) -> None:
        """Add up one answered request."""
        self.answered(route, status, body_bytes, started, in_flight=True)

    def answered(self, route: str, status: int, body_bytes: int, started: float, *, in_flight: bool) -> None:
        """Add up one answered request; `in_flight` when `started` counted it."""
        duration_seconds = time.perf_counter() - started
        with self._lock:
            if in_flight:
                self._in_flight -= 1
            self._requests[(route, status)] += 1
            if body_bytes:
                self._body_bytes[route] += body_bytes
            latencies = self._latencies.get(route)
            if latencies is None:
                latencies = self._latencies[route] = _Latencies()
            latencies.add(duration_seconds)

    def flush(self) -> None:
        """Write what was added up since the last flush to the metrics, and the requests in flight now."""
        with self._lock:
            IN_FLIGHT.set(self._in_flight)  # under the lock: two flushes at once cannot leave an older count
            requests, self._requests = self._requests, Counts()
            body_bytes, self._body_bytes = self._body_bytes, Counts()
            latencies, self._latencies = self._latencies, {}
        for (route, status), count in requests.items():
            REQUESTS.labels(route, str(status)).inc(count)
        for route, count in body_bytes.items():
            SENT_BYTES.labels(route).inc(count)
        for route, added in latencies.items():
            added.write_to(LATENCY.labels(route))


_TALLY = RequestTally()


def request_started() -> float:
    """Count a request in flight; returns its start time for `request_finished`."""
    return _TALLY.started()


def request_finished(route: str, status: int, body_bytes: int, started: float) -> None:
    """Record one answered request (written at the next `flush`)."""
    _TALLY.finished(route, status, body_bytes, started)
    if route == METRICS_ROUTE:
        # The scrape flushed with itself in flight: left so, the next scrape, answered by another
        # worker within the second, would count this one as still running.
        _TALLY.flush()


def request_answered_at_once(route: str, status: int, started: float) -> None:
    """Record a request the event loop answered itself (never in flight), from `time.perf_counter()`."""
    _TALLY.answered(route, status, 0, started, in_flight=False)


def flush() -> None:
    """Write this worker's request figures added up since the last flush."""
    _TALLY.flush()


def body_bytes_sent(method: str, status: int, content_length: int | None, written: int) -> int:
    """Bytes of body a response carried: none for HEAD, 1xx, 204 and 304."""
    if method == "HEAD" or status < 200 or status in _NO_BODY_STATUSES:
        return 0
    # sendfile does not update gunicorn's byte count, so the announced length is the better figure.
    return max(written, content_length or 0)


def count_rejection(reason: str) -> None:
    """Count a connection turned away by the worker (`connection_limit`, `read_timeout`, `write_timeout`)."""
    REJECTIONS.labels(reason).inc()


def waiters(count: int) -> None:
    """How many requests this worker holds right now."""
    WAITERS.set(count)


def count_wait(outcome: str) -> None:
    """Count how one held request (or one that could not be held) ended."""
    WAITS.labels(outcome).inc()


def worker_started() -> None:
    """Mark this process as a live worker, its metric files open before it serves."""
    WORKERS.set(1)
    # Label sets known in advance start at 0 (Prometheus' advice against missing series). Making
    # them also opens this process's counter and histogram files now: requests are written only at
    # the first flush, and a worker's descriptors should not change once it serves.
    REQUESTS.labels(HEALTH_ROUTE, "200")
    LATENCY.labels(HEALTH_ROUTE)
    SENT_BYTES.labels(HEALTH_ROUTE)


def zone_cache_following(following: bool) -> None:
    """Whether this worker's zone reads come from its copy (see zone_cache.py)."""
    ZONE_CACHE_FOLLOWING.set(1 if following else 0)


def worker_exited(pid: int) -> None:
    """Drop a dead worker's live gauges (its counters stay in the totals)."""
    if os.environ.get(MULTIPROC_ENV):
        multiprocess.mark_process_dead(pid)  # type: ignore[no-untyped-call]


def render() -> bytes:
    """The Prometheus text of the whole service (this worker's figures written first)."""
    flush()
    source: Collector = REGISTRY
    if path := os.environ.get(MULTIPROC_ENV):
        source = WorkerFilesCollector(path)
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_WithNotModifiedRatio(source))
    return generate_latest(registry)


class WorkerFilesCollector(Collector):
    """Every worker's metric files summed, as `MultiProcessCollector`, skipping one still being created.

    A worker creates its files as it starts: prometheus-client opens a file, then sizes it. A scrape
    that reads the file in between found it empty and failed with a struct.error (an HTTP 500,
    seen in CI right after a worker started). A file's size never shrinks, so one seen non-empty
    before it is read can be read.
    """

    def __init__(self, path: str) -> None:
        self._path = path

    def collect(self) -> Iterable[Metric]:
        files = [file for file in glob.glob(os.path.join(self._path, "*.db")) if _sized(file)]
        metrics: Iterable[Metric] = multiprocess.MultiProcessCollector.merge(files, accumulate=True)  # type: ignore[no-untyped-call]
        return metrics


def _sized(file: str) -> bool:
    """Whether a metric file holds at least its header (a worker that exits removes its gauge files)."""
    try:
        return os.stat(file).st_size >= _METRIC_FILE_HEADER_BYTES
    except FileNotFoundError:
        return False


def not_modified_ratio(families: Iterable[Metric]) -> float:
    """Share of answered requests that were 304, from collected request counters."""
    total = not_modified = 0.0
    for family in families:
        if family.name != "artwork_http_requests":
            continue
        for sample in family.samples:
            if sample.name.endswith("_total"):
                total += sample.value
                if sample.labels.get("status") == "304":
                    not_modified += sample.value
    return not_modified / total if total else 0.0


class _WithNotModifiedRatio(Collector):
    """Another collector's metrics plus the 304 ratio, computed at scrape time instead of per request."""

    def __init__(self, source: Collector) -> None:
        self._source = source

    def collect(self) -> Iterator[Metric]:
        families = list(self._source.collect())
        yield from families
        yield GaugeMetricFamily(
            "artwork_http_not_modified_ratio",
            "Share of answered requests that were 304 Not Modified",
            value=not_modified_ratio(families),
        )
