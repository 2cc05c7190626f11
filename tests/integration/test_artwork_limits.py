"""Connection limits under a real gunicorn: every client gets an answer quickly, none hangs.

One worker with ARTWORK_MAX_CONNECTIONS=10, so the limit is exactly ten connections.
"""

from __future__ import annotations

import http.client
import json
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from contract.profiles import BUILTIN_PROFILES
from harness.gunicorn import (
    ArtworkServer,
    Reply,
    artwork_in,
    make_zone,
    metric,
    metric_samples,
    seed_zone,
    write_rendition,
)
from harness.redis_server import RedisServer
from harness.waiting import wait_for

LIMIT = 10
READ_TIMEOUT_SECONDS = 2.0
FAST_SECONDS = 1.0
LARGE_BYTES = 24 << 20


@pytest.fixture(scope="module")
def server(redis_server: RedisServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ArtworkServer]:
    """One single-worker gunicorn at the default 4 threads and 10 connections."""
    with artwork_in(
        redis_server,
        tmp_path_factory.mktemp("artwork-limits"),
        extra_env={
            "ARTWORK_WORKERS": "1",
            "ARTWORK_THREADS": "4",
            "ARTWORK_MAX_CONNECTIONS": str(LIMIT),
            "ARTWORK_READ_TIMEOUT_SECONDS": str(READ_TIMEOUT_SECONDS),
        },
    ) as running:
        yield running


def _open(server: ArtworkServer, first_bytes: bytes = b"") -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=10)
    if first_bytes:
        sock.sendall(first_bytes)
    return sock


def _timed(server: ArtworkServer, path: str) -> tuple[Reply, float]:
    started = time.monotonic()
    reply = server.request(path)
    return reply, time.monotonic() - started


def _wait_until_serving(server: ArtworkServer) -> None:
    wait_for(lambda: server.request("/healthz").status == 200, READ_TIMEOUT_SECONDS + 5, what="a 200 again")


@pytest.mark.timeout(30)
def test_connections_beyond_the_limit_get_a_fast_503_logged_and_counted(server: ArtworkServer):
    _wait_until_serving(server)
    before = metric_samples(server)
    # Ten clients that asked for a large file and read nothing: four hold the worker's threads,
    # six wait for one. They fill its ten connections until the read timeout drops them.
    name = _large_rendition(server, "limit")
    stalled = [_stalled_reader(server, f"/art/{name.filename}") for _ in range(LIMIT)]
    try:
        time.sleep(0.3)
        answers = [_timed(server, "/healthz") for _ in range(LIMIT)]  # connections 11..20
    finally:
        for sock in stalled:
            sock.close()

    print("connections 11..20:", [(reply.status, f"{seconds * 1000:.1f} ms") for reply, seconds in answers])
    for reply, seconds in answers:
        assert reply.status == 503
        assert seconds < FAST_SECONDS
        assert json.loads(reply.body) == {"error": "too many connections"}
        assert reply.headers["retry-after"] == "1"
        assert reply.headers["connection"] == "close"
    _wait_until_serving(server)
    rejected = "artwork_connections_rejected_total"
    after = metric_samples(server)
    # At least: a probe racing the stalled clients' close may be turned away too, and counted.
    counted = metric(after, rejected, reason="connection_limit") - metric(
        before, rejected, reason="connection_limit"
    )
    assert counted >= LIMIT
    assert server.log_tail(50_000).count("rejected connection from 127.0.0.1:") >= LIMIT


@pytest.mark.timeout(30)
def test_clients_stalled_in_their_request_heads_do_not_turn_others_away(server: ArtworkServer):
    _wait_until_serving(server)
    # Slowloris: more clients than the limit that started a request and stalled. Their heads are
    # read by the event loop, without a thread, so they hold no place among the busy ten.
    stalled = [_open(server, b"GET /healthz HTTP/1.1\r\nHost: t\r\n") for _ in range(2 * LIMIT)]
    try:
        time.sleep(0.3)
        answers = [_timed(server, "/healthz") for _ in range(LIMIT)]
    finally:
        for sock in stalled:
            sock.close()

    print("new clients beside 20 stalled heads:", [(r.status, f"{s * 1000:.1f} ms") for r, s in answers])
    assert [reply.status for reply, _ in answers] == [200] * LIMIT
    assert max(seconds for _, seconds in answers) < FAST_SECONDS


@pytest.mark.timeout(30)
def test_at_the_cap_of_open_connections_the_oldest_stalled_head_makes_room(server: ArtworkServer):
    _wait_until_serving(server)
    cap = LIMIT * 5  # the worker's cap of open connections: its limit and four idle per busy one
    stalled = [_open(server, b"GET /healthz HTTP/1.1\r\n") for _ in range(cap)]
    try:
        time.sleep(1.2)  # only a connection this old without a whole head is closed to make room
        answers = [_timed(server, "/healthz") for _ in range(LIMIT)]
        closed = sum(1 for sock in stalled if _closed_by_server(sock))
    finally:
        for sock in stalled:
            sock.close()

    assert [reply.status for reply, _ in answers] == [200] * LIMIT
    assert closed >= LIMIT


def _closed_by_server(sock: socket.socket) -> bool:
    sock.settimeout(0.5)
    try:
        return sock.recv(1) == b""
    except TimeoutError:
        return False
    except OSError:  # reset: closed all the same
        return True


@pytest.mark.timeout(30)
def test_idle_connections_make_room_for_new_clients(server: ArtworkServer):
    _wait_until_serving(server)
    # Ten connections that never send anything, like a browser's preconnects.
    silent = [_open(server) for _ in range(LIMIT)]
    try:
        time.sleep(1.2)  # only connections silent for a second are taken to be idle
        answers = [_timed(server, "/healthz") for _ in range(LIMIT)]
    finally:
        for sock in silent:
            sock.close()

    print("new clients beside 10 idle ones:", [f"{s * 1000:.1f} ms" for _, s in answers])
    assert [reply.status for reply, _ in answers] == [200] * LIMIT
    assert max(seconds for _, seconds in answers) < FAST_SECONDS


@pytest.mark.timeout(30)
def test_kept_alive_displays_keep_their_connections_while_as_many_visitors_come_and_go(server: ArtworkServer):
    _wait_until_serving(server)
    # Ten displays that polled once and keep their connections for the next poll: idle, not busy,
    # so the limit has room for others and nobody's connection is closed to make it.
    displays = [http.client.HTTPConnection("127.0.0.1", server.port, timeout=5) for _ in range(LIMIT)]
    try:
        for display in displays:
            display.request("GET", "/healthz")
            display.getresponse().read()
        # http.client drops a connection answered with `Connection: close` and opens a new one.
        kept = [display.sock.getsockname() if display.sock else None for display in displays]
        visitors = [_timed(server, "/healthz")[0].status for _ in range(LIMIT)]
        next_polls = []
        for display in displays:
            display.request("GET", "/healthz")  # a connection closed under it would raise here
            reply = display.getresponse()
            reply.read()
            next_polls.append(reply.status)
        still = [display.sock.getsockname() if display.sock else None for display in displays]
    finally:
        for display in displays:
            display.close()

    assert visitors == [200] * LIMIT
    assert next_polls == [200] * LIMIT
    assert None not in kept
    assert still == kept


@pytest.mark.timeout(30)
def test_twenty_concurrent_clients_are_all_answered_without_a_hang(server: ArtworkServer):
    _wait_until_serving(server)
    name = write_rendition(server.artwork_dir, BUILTIN_PROFILES["jpeg720"], source_id="crowd")
    results: list[tuple[int, float]] = []
    lock = threading.Lock()
    start = threading.Barrier(20)

    def client() -> None:
        start.wait()
        try:
            reply, seconds = _timed(server, f"/art/{name.filename}")
            outcome = (reply.status, seconds)
        except OSError as exc:  # a reset or a hang would land here
            outcome = (-1, float("inf"))
            print("client failed:", exc)
        with lock:
            results.append(outcome)

    threads = [threading.Thread(target=client) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)

    statuses = sorted(status for status, _ in results)
    print(f"20 concurrent clients: {statuses}, slowest {max(s for _, s in results) * 1000:.1f} ms")
    assert len(results) == 20
    assert set(statuses) <= {200, 503}
    assert max(seconds for _, seconds in results) < 3.0


def _stalled_reader(server: ArtworkServer, path: str) -> socket.socket:
    """A client that asks for a file and then reads nothing, with a receive window of a few KiB."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # before connecting: it sets the window
    sock.settimeout(10)
    sock.connect(("127.0.0.1", server.port))
    sock.sendall(f"GET {path} HTTP/1.1\r\nHost: t\r\n\r\n".encode())
    return sock


def _large_rendition(server: ArtworkServer, source_id: str) -> Any:
    """A rendition larger than the kernel's largest send buffer (4 MiB) and a client's window together."""
    name = write_rendition(server.artwork_dir, BUILTIN_PROFILES["jpeg720"], source_id=source_id)
    with (server.artwork_dir / name.relpath).open("ab") as padded:
        padded.truncate(LARGE_BYTES)
    return name


def _bytes_until_closed(sock: socket.socket) -> int:
    received = 0
    try:
        while chunk := sock.recv(1 << 20):
            received += len(chunk)
    except OSError:  # reset: closed all the same
        pass
    return received


@pytest.mark.timeout(40)
def test_clients_that_stop_reading_a_large_file_hold_its_threads_no_longer_than_the_read_timeout(
    server: ArtworkServer,
):
    _wait_until_serving(server)
    name = _large_rendition(server, "stall")  # a thread's sendfile blocks on each of these clients
    stalled = [_stalled_reader(server, f"/art/{name.filename}") for _ in range(4)]  # every thread
    try:
        time.sleep(0.5)  # the threads are now blocked writing to them
        reply, seconds = _timed(server, "/healthz")
        assert reply.status == 200
        # The request waits for a thread: one is freed once a write made no progress for the timeout.
        assert seconds < READ_TIMEOUT_SECONDS + 2.5, f"/healthz waited {seconds:.1f} s for a thread"
        assert all(_bytes_until_closed(sock) < LARGE_BYTES for sock in stalled)  # cut off, not served
    finally:
        for sock in stalled:
            sock.close()
    log = server.log_tail(50_000)
    assert "took no data of the response for 2.0 s" in log
    assert "Traceback" not in log  # one line per client, not a stack
    drops = metric(metric_samples(server), "artwork_connections_rejected_total", reason="write_timeout")
    assert drops >= len(stalled)


@pytest.mark.timeout(40)
def test_clients_that_stop_reading_a_large_zone_image_are_dropped_at_the_read_timeout_too(
    server: ArtworkServer, redis_url: str
):
    """A zone image's plain GET skips gunicorn's response object (see worker.py): bounded all the same."""
    _wait_until_serving(server)
    name = _large_rendition(server, "stall zone")
    seed_zone(redis_url, make_zone("stalled", {"jpeg720": name}))

    def drops() -> float:
        return metric(metric_samples(server), "artwork_connections_rejected_total", reason="write_timeout")

    before = drops()
    stalled = [_stalled_reader(server, "/zones/stalled/jpeg720.jpg") for _ in range(4)]  # every thread
    try:
        time.sleep(0.5)
        reply, seconds = _timed(server, "/healthz")
        assert reply.status == 200
        assert seconds < READ_TIMEOUT_SECONDS + 2.5, f"/healthz waited {seconds:.1f} s for a thread"
        assert all(_bytes_until_closed(sock) < LARGE_BYTES for sock in stalled)
    finally:
        for sock in stalled:
            sock.close()
    assert drops() - before >= len(stalled)
