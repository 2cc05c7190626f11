"""Pure decisions of the bounded gthread worker."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from artwork.worker import (
    REJECT_RESPONSE,
    RETIRE_AFTER_GROWTH_BYTES,
    head_complete,
    max_head_bytes,
    peak_rss_bytes,
    peer_name,
    should_retire,
)
from harness.processes import REPO_ROOT


@pytest.mark.parametrize(
    ("head", "searched_from", "complete"),
    [
        (b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", 0, True),
        (b"GET / HTTP/1.1\r\nHost: x\r\n", 0, False),
        (b"GET / HTTP/1.1\r\nHost: x\r\n\r", 0, False),
        (b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", 26, True),  # the end straddles the last chunk
        (b"GET / HTTP/1.0\n\n", 0, True),  # bare LF: the parser answers 400 at once
        (b"", 0, False),
    ],
)
def test_a_head_is_complete_at_its_blank_line(head: bytes, searched_from: int, complete: bool):
    assert head_complete(head, searched_from) is complete


def test_the_head_cap_covers_everything_the_parser_may_still_accept():
    assert max_head_bytes(2048, 40, 8190) == 2 + 2048 + 40 * 8192 + 4
    assert max_head_bytes(0, 100, 0) == 2 + 8190 + 100 * 8192 + 4  # 0 means gunicorn's own maximum


MIB = 2**20


@pytest.mark.parametrize(
    ("peak_mib", "retire"),
    [(80, False), (80 + 63, False), (80 + 65, True)],
)
def test_a_worker_retires_only_once_its_memory_has_grown_past_the_bound(peak_mib: int, retire: bool):
    assert RETIRE_AFTER_GROWTH_BYTES == 64 * MIB
    assert should_retire(peak_mib * MIB, 80 * MIB) is retire


def test_the_peak_memory_is_read_in_bytes():
    assert 10 * MIB < peak_rss_bytes() < 10_000 * MIB  # a test interpreter: tens to hundreds of MiB


def test_peers_are_named_host_and_port():
    assert peer_name(("192.168.1.20", 51234)) == "192.168.1.20:51234"
    assert peer_name("") == "unix socket"


def test_the_canned_rejection_is_a_complete_503_with_a_json_body():
    head, _, body = REJECT_RESPONSE.partition(b"\r\n\r\n")
    lines = head.decode().split("\r\n")

    assert lines[0] == "HTTP/1.1 503 Service Unavailable"
    assert f"Content-Length: {len(body)}" in lines
    assert "Retry-After: 1" in lines
    assert "Connection: close" in lines
    assert json.loads(body) == {"error": "too many connections"}


def test_the_worker_class_loads_neither_flask_nor_redis_in_gunicorns_master():
    # The master imports the worker class; Flask and redis-py there cost about 18 MiB of RSS.
    probe = "import sys, artwork.worker; print(sorted(m for m in ('flask', 'redis') if m in sys.modules))"
    paths = os.pathsep.join(str(REPO_ROOT / "services" / name) for name in ("contract", "artwork"))

    out = subprocess.run(
        [sys.executable, "-c", probe],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "PYTHONPATH": paths},
    ).stdout

    assert out.strip() == "[]"
