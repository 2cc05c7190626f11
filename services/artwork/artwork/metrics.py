"""Prometheus metrics of the whole service: every worker writes them, `/metrics` reads them all.

Under gunicorn, prometheus-client runs in multiprocess mode (`PROMETHEUS_MULTIPROC_DIR`, set up by
gunicorn.conf.py), so a scrape answered by one worker sums every worker's files. Requests are
observed in gunicorn's `pre_request`/`post_request` hooks, after the body went out (sendfile
included), so nothing wraps the response body.
"""

from __future__ import annotations

import os
import time
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
METRICS_CONTENT_TYPE = CONTENT_TYPE_LATEST

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
    "artwork_http_requests_in_flight", "Requests being handled right now", multiprocess_mode="livesum"
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
# Label children looked up once: .labels() takes a lock and builds tuples on every call.
_request_children: dict[tuple[str, int], Any] = {}
_route_children: dict[str, tuple[Any, Any]] = {}


def request_started() -> float:
    """Count a request in flight; returns its start time for `request_finished`."""
    IN_FLIGHT.inc()
    return time.perf_counter()


def request_finished(route: str, status: int, body_bytes: int, started: float) -> None:
    """Record one answered request."""
    IN_FLIGHT.dec()
    requests = _request_children.get((route, status))
    if requests is None:
        requests = _request_children[(route, status)] = REQUESTS.labels(route, str(status))
    per_route = _route_children.get(route)
    if per_route is None:
        per_route = _route_children[route] = (LATENCY.labels(route), SENT_BYTES.labels(route))
    requests.inc()
    per_route[0].observe(time.perf_counter() - started)
    if body_bytes:
        per_route[1].inc(body_bytes)


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
    """Mark this process as a live worker."""
    WORKERS.set(1)


def zone_cache_following(following: bool) -> None:
    """Whether this worker's zone reads come from its copy (see zone_cache.py)."""
    ZONE_CACHE_FOLLOWING.set(1 if following else 0)


def worker_exited(pid: int) -> None:
    """Drop a dead worker's live gauges (its counters stay in the totals)."""
    if os.environ.get(MULTIPROC_ENV):
        multiprocess.mark_process_dead(pid)  # type: ignore[no-untyped-call]


def render() -> bytes:
    """The Prometheus text of the whole service."""
    source: Collector = REGISTRY
    if os.environ.get(MULTIPROC_ENV):
        source = multiprocess.MultiProcessCollector(None)  # type: ignore[no-untyped-call]
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_WithNotModifiedRatio(source))
    return generate_latest(registry)


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
