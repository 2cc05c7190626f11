"""Metrics: what counts as body bytes, the 304 ratio, requests added up between flushes, and the
multiprocess directory."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from prometheus_client import REGISTRY, CollectorRegistry, Counter, Histogram
from prometheus_client.mmap_dict import MmapedDict, mmap_key

from artwork.metrics import (
    _LATENCY_BUCKETS_SECONDS,
    RequestTally,
    WorkerFilesCollector,
    _Latencies,
    body_bytes_sent,
    not_modified_ratio,
)
from artwork.metrics_dir import (
    MULTIPROC_ENV,
    OWNED_PREFIX,
    clear_metrics_dir,
    ensure_metrics_dir,
    remove_if_owned,
)
from contract.errors import ConfigError


@pytest.mark.parametrize(
    ("method", "status", "length", "written", "expected"),
    [
        ("GET", 200, 5000, 0, 5000),  # sent with sendfile: gunicorn counted nothing
        ("GET", 200, None, 123, 123),  # streamed without a length
        ("GET", 206, 100, 100, 100),
        ("HEAD", 200, 5000, 0, 0),
        ("GET", 304, None, 0, 0),
        ("GET", 204, 0, 0, 0),
    ],
)
def test_body_bytes_are_what_the_response_carried(method, status, length, written, expected):
    assert body_bytes_sent(method, status, length, written) == expected


def test_the_304_ratio_is_computed_from_the_request_counters():
    registry = CollectorRegistry()
    requests = Counter("artwork_http_requests", "x", ["route", "status"], registry=registry)
    requests.labels("/a", "200").inc(3)
    requests.labels("/a", "304").inc(1)

    assert not_modified_ratio(registry.collect()) == 0.25
    assert not_modified_ratio(CollectorRegistry().collect()) == 0.0


def test_latencies_added_up_read_exactly_as_observing_each_one_would():
    # Guards the one use of prometheus-client's internals (see _Latencies.write_to).
    durations = [0.0004, 0.001, 0.0011, 0.003, 0.003, 0.02, 0.7, 11.0, 0.0]
    registry = CollectorRegistry()
    one_by_one = Histogram("one_by_one", "x", ["route"], buckets=_LATENCY_BUCKETS_SECONDS, registry=registry)
    added_up = Histogram("added_up", "x", ["route"], buckets=_LATENCY_BUCKETS_SECONDS, registry=registry)
    latencies = _Latencies()
    for duration in durations:
        one_by_one.labels("/r").observe(duration)
        latencies.add(duration)
    latencies.write_to(added_up.labels("/r"))

    def samples(name: str) -> list[tuple[str, dict[str, str], float]]:
        family = next(f for f in registry.collect() if f.name == name)
        return [
            (s.name.removeprefix(name), s.labels, round(s.value, 9))
            for s in family.samples
            if not s.name.endswith("_created")
        ]

    assert samples("added_up") == samples("one_by_one")


def test_requests_reach_the_metrics_when_the_tally_is_flushed():
    route = "/tally-test"

    def value(name: str, **labels: str) -> float:
        return REGISTRY.get_sample_value(name, labels) or 0.0

    tally = RequestTally()
    still_running = tally.started()
    for status, body_bytes in ((200, 1000), (200, 500), (304, 0)):
        tally.finished(route, status, body_bytes, tally.started())

    assert value("artwork_http_requests_total", route=route, status="200") == 0
    tally.flush()

    assert value("artwork_http_requests_total", route=route, status="200") == 2
    assert value("artwork_http_requests_total", route=route, status="304") == 1
    assert value("artwork_http_response_body_bytes_total", route=route) == 1500
    assert value("artwork_http_request_duration_seconds_count", route=route) == 3
    assert value("artwork_http_requests_in_flight") == 1
    tally.finished(route, 200, 0, still_running)
    tally.flush()
    tally.flush()  # nothing new: nothing counted twice
    assert value("artwork_http_requests_total", route=route, status="200") == 3
    assert value("artwork_http_requests_in_flight") == 0


def test_a_scrape_while_a_worker_creates_its_files_sums_the_others(tmp_path: Path):
    # A worker's counter file as prometheus-client writes it, and one a starting worker has opened
    # but not yet sized: reading that one failed the whole scrape with a 500.
    written = MmapedDict(str(tmp_path / "counter_101.db"))  # type: ignore[no-untyped-call]
    key = mmap_key("artwork_http_requests", "artwork_http_requests_total", ["route"], ["/x"], "help")
    written.write_value(key, 7.0, 0.0)  # type: ignore[no-untyped-call]
    written.close()  # type: ignore[no-untyped-call]
    (tmp_path / "counter_102.db").touch()

    families = {family.name: family for family in WorkerFilesCollector(str(tmp_path)).collect()}

    samples = [(sample.name, sample.value) for sample in families["artwork_http_requests"].samples]
    assert samples == [("artwork_http_requests_total", 7.0)]


def test_without_a_configured_directory_a_private_one_is_created_and_exported():
    environ: dict[str, str] = {}

    path = ensure_metrics_dir(environ)
    try:
        assert environ[MULTIPROC_ENV] == str(path)
        assert path.name.startswith(OWNED_PREFIX)
        assert os.access(path, os.W_OK)
    finally:
        remove_if_owned(path)
    assert not path.exists()


def test_a_configured_directory_is_used_cleared_of_old_files_and_kept(tmp_path: Path):
    (tmp_path / "counter_123.db").write_bytes(b"old")
    (tmp_path / "keep.txt").write_text("not ours")

    path = ensure_metrics_dir({MULTIPROC_ENV: str(tmp_path)})
    clear_metrics_dir(path)
    remove_if_owned(path)

    assert path == tmp_path
    assert sorted(p.name for p in tmp_path.iterdir()) == ["keep.txt"]


def test_a_configured_directory_that_does_not_exist_fails_naming_the_key(tmp_path: Path):
    with pytest.raises(ConfigError, match=rf"^{MULTIPROC_ENV}:"):
        ensure_metrics_dir({MULTIPROC_ENV: str(tmp_path / "missing")})
