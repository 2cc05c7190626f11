"""Wait-for-change on the real gunicorn configuration and a real Redis: `?wait=` with `If-None-Match`
is held without a thread until the zone changes (200) or the wait ends (304)."""

from __future__ import annotations

import selectors
import socket
import statistics
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from contract.layout import ArtName
from contract.profiles import BUILTIN_PROFILES
from harness.gunicorn import (
    ArtworkServer,
    Reply,
    _parse_reply,
    artwork_in,
    make_zone,
    metric,
    metric_samples,
    running_artwork,
    seed_zone,
    worker_pids,
    write_rendition,
)
from harness.redis_server import RedisServer
from harness.waiting import wait_for

pytestmark = pytest.mark.timeout(60)

SQUARE = BUILTIN_PROFILES["square720"]
IMAGE = "/zones/living-room/square720.bmp"
ZONE_JSON = "/api/zones/living-room"


@pytest.fixture(scope="module")
def server(redis_server: RedisServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ArtworkServer]:
    # Room for a hundred held requests on either worker: the kernel need not share them out evenly.
    extra = {"ARTWORK_MAX_WAITERS": "128"}
    with artwork_in(redis_server, tmp_path_factory.mktemp("artwork-wait"), extra) as running:
        yield running


def play(server: ArtworkServer, redis_url: str, source_id: str, version: int) -> ArtName:
    """The zone plays a new cover (published as the poller does); returns its rendition."""
    name = write_rendition(server.artwork_dir, SQUARE, source_id=source_id)
    seed_zone(redis_url, make_zone("living-room", {"square720": name}, title=source_id, version=version))
    return name


def raw_request(path: str, method: str = "GET", etag: str = "") -> bytes:
    lines = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1", "Connection: close"]
    if etag:
        lines.append(f"If-None-Match: {etag}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


class Waiter:
    """One held request on its own socket, read to the end in the background; times its answer."""

    def __init__(self, port: int, path: str, etag: str, method: str = "GET") -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=40)
        self.sock.sendall(raw_request(path, method, etag))
        self.reply: Reply | None = None
        self.answered_at = 0.0
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        chunks: list[bytes] = []
        with self.sock:
            try:
                while chunk := self.sock.recv(65536):
                    if not chunks:
                        self.answered_at = time.monotonic()
                    chunks.append(chunk)
            except OSError:
                return  # given up by the test
        if chunks:
            self.reply = _parse_reply(b"".join(chunks))

    def give_up(self) -> None:
        """Close the connection without waiting for an answer, as a display that is unplugged."""
        self.sock.shutdown(socket.SHUT_RDWR)
        self._thread.join(5)

    def result(self, timeout_seconds: float = 40) -> Reply:
        self._thread.join(timeout_seconds)
        assert self.reply is not None, "no answer"
        return self.reply


def held(server: ArtworkServer) -> float:
    return metric(metric_samples(server), "artwork_waiters")


def test_a_held_image_request_gets_the_new_image_as_soon_as_the_zone_changes(server, redis_url):
    first = play(server, redis_url, "cover-1", 1)
    waiter = Waiter(server.port, f"{IMAGE}?wait=20", f'"{first.hash}"')
    wait_for(lambda: held(server) == 1, 5, what="the request to be held")

    second = play(server, redis_url, "cover-2", 2)
    published = time.monotonic()
    reply = waiter.result()

    assert reply.status == 200
    assert reply.headers["etag"] == f'"{second.hash}"'
    assert reply.body == (server.artwork_dir / second.relpath).read_bytes()
    assert reply.headers["cache-control"] == "no-cache"
    latency = waiter.answered_at - published
    print(f"answered {latency * 1000:.0f} ms after the publish")
    assert latency < 0.5  # the bench measures the 100 ms target; this only catches a lost wake-up


@pytest.mark.parametrize("method", ["GET", "HEAD"])
def test_a_held_request_gets_304_when_its_wait_ends_without_a_change(server, redis_url, method):
    name = play(server, redis_url, "cover-still", 3)
    started = time.monotonic()

    reply = Waiter(server.port, f"{IMAGE}?wait=1.5", f'"{name.hash}"', method).result()

    assert reply.status == 304
    assert reply.headers["etag"] == f'"{name.hash}"'
    assert 1.4 <= time.monotonic() - started < 4


def test_a_held_head_request_is_woken_by_a_change_too(server, redis_url):
    first = play(server, redis_url, "cover-head-1", 4)
    waiter = Waiter(server.port, f"{IMAGE}?wait=20", f'"{first.hash}"', "HEAD")
    wait_for(lambda: held(server) == 1, 5, what="the HEAD to be held")

    second = play(server, redis_url, "cover-head-2", 5)
    reply = waiter.result()

    assert (reply.status, reply.headers["etag"], reply.body) == (200, f'"{second.hash}"', b"")


def test_a_stale_or_missing_etag_is_answered_at_once(server, redis_url):
    name = play(server, redis_url, "cover-now", 6)
    for etag in ('"someotherhash"', ""):
        started = time.monotonic()
        reply = Waiter(server.port, f"{IMAGE}?wait=20", etag).result()
        assert (reply.status, reply.headers["etag"]) == (200, f'"{name.hash}"')
        assert time.monotonic() - started < 2


def test_the_zone_json_is_held_and_woken_like_the_image(server, redis_url):
    play(server, redis_url, "json-1", 7)
    etag = server.request(ZONE_JSON).headers["etag"]
    waiter = Waiter(server.port, f"{ZONE_JSON}?wait=20", etag)
    wait_for(lambda: held(server) == 1, 5, what="the JSON request to be held")

    play(server, redis_url, "json-2", 8)
    reply = waiter.result()

    assert reply.status == 200
    assert b'"title":"json-2"' in reply.body
    assert reply.headers["etag"] != etag


@pytest.mark.parametrize("value", ["abc", "-1", "1e9", "nan", "31"])
@pytest.mark.parametrize("path", [IMAGE, ZONE_JSON])
def test_a_wait_that_is_not_seconds_within_the_cap_is_a_400(server, redis_url, path, value):
    name = play(server, redis_url, "cover-bad", 9)

    reply = server.request(f"{path}?wait={value}", headers={"If-None-Match": f'"{name.hash}"'})

    assert reply.status == 400
    assert reply.body == b'{"error":"wait must be a number of seconds from 0 to 30"}'


def test_legacy_urls_ignore_wait(server, redis_url):
    name = play(server, redis_url, "cover-legacy", 10)
    started = time.monotonic()

    reply = server.request("/Adafruit/artwork.bmp?wait=20", headers={"If-None-Match": f'"{name.hash}"'})

    assert reply.status == 304
    assert time.monotonic() - started < 2


def test_a_client_that_closes_while_held_leaves_nothing_behind(server, redis_url):
    name = play(server, redis_url, "cover-close", 11)
    workers = [psutil.Process(pid) for pid in worker_pids(server)]
    before = [w.num_fds() for w in workers]
    socks = [socket.create_connection(("127.0.0.1", server.port), timeout=5) for _ in range(6)]
    for sock in socks:
        sock.sendall(raw_request(f"{IMAGE}?wait=30", etag=f'"{name.hash}"'))
    wait_for(lambda: held(server) == 6, 5, what="six held requests")

    for sock in socks:
        sock.close()

    wait_for(lambda: held(server) == 0, 5, what="every slot freed")
    wait_for(lambda: [w.num_fds() for w in workers] == before, 5, what="descriptors back where they were")


def test_one_change_wakes_a_hundred_held_requests_and_others_are_served_meanwhile(server, redis_url):
    first = play(server, redis_url, "cover-many-1", 12)
    selector = selectors.DefaultSelector()
    socks: list[socket.socket] = []
    try:
        for _ in range(100):
            sock = socket.create_connection(("127.0.0.1", server.port), timeout=5)
            socks.append(sock)
            sock.sendall(raw_request(f"{IMAGE}?wait=30", etag=f'"{first.hash}"'))
            sock.setblocking(False)
            selector.register(sock, selectors.EVENT_READ)
        wait_for(lambda: held(server) == 100, 10, what="a hundred held requests")

        latencies = []
        for _ in range(60):
            for path in ("/healthz", "/api/zones"):
                started = time.perf_counter()
                assert server.request(path).status == 200
                latencies.append(time.perf_counter() - started)
        p95 = statistics.quantiles(latencies, n=20)[-1]

        play(server, redis_url, "cover-many-2", 13)
        published = time.monotonic()
        answered: set[socket.socket] = set()
        while len(answered) < len(socks) and time.monotonic() - published < 10:
            for key, _ in selector.select(timeout=1):
                answered.add(key.fileobj)  # type: ignore[arg-type]
                selector.unregister(key.fileobj)
        woken_seconds = time.monotonic() - published
    finally:
        selector.close()
        for sock in socks:
            sock.close()

    print(f"p95 {p95 * 1000:.1f} ms with 100 held; all woken in {woken_seconds * 1000:.0f} ms")
    assert len(answered) == 100
    assert p95 < 0.05
    assert woken_seconds < 1.0  # the bench holds the 200 ms target


@pytest.fixture
def small_server(redis_server: RedisServer, tmp_path: Path) -> Iterator[ArtworkServer]:
    """One worker holding at most three requests."""
    artwork_dir = tmp_path / "artwork"
    (artwork_dir / "art").mkdir(parents=True)
    with running_artwork(
        artwork_dir=artwork_dir,
        redis_url=redis_server.url,
        log_path=tmp_path / "gunicorn.log",
        extra_env={"ARTWORK_WORKERS": "1", "ARTWORK_MAX_WAITERS": "3"},
    ) as running:
        yield running


def test_beyond_the_waiter_limit_a_wait_is_answered_at_once(small_server, redis_url):
    name = play(small_server, redis_url, "cover-limit", 14)
    waiters = [Waiter(small_server.port, f"{IMAGE}?wait=30", f'"{name.hash}"') for _ in range(3)]
    wait_for(lambda: held(small_server) == 3, 5, what="three held requests")
    started = time.monotonic()

    over = small_server.request(f"{IMAGE}?wait=30", headers={"If-None-Match": f'"{name.hash}"'})

    assert over.status == 304
    assert time.monotonic() - started < 2
    assert metric(metric_samples(small_server), "artwork_waits_total", outcome="over_limit") == 1
    for waiter in waiters:
        waiter.give_up()


def test_sigterm_answers_every_held_request_and_the_worker_exits_in_time(redis_server, redis_url, tmp_path):
    artwork_dir = tmp_path / "artwork"
    (artwork_dir / "art").mkdir(parents=True)
    with running_artwork(
        artwork_dir=artwork_dir, redis_url=redis_server.url, log_path=tmp_path / "gunicorn.log"
    ) as running:
        name = play(running, redis_url, "cover-stop", 15)
        waiters = [Waiter(running.port, f"{IMAGE}?wait=30", f'"{name.hash}"') for _ in range(50)]
        wait_for(lambda: held(running) == 50, 10, what="fifty held requests")
        started = time.monotonic()
        returncode = running.stop()
        stopped_seconds = time.monotonic() - started
        replies = [w.result(15) for w in waiters]

    assert returncode == 0
    assert {r.status for r in replies} == {304}
    assert all(r.headers["connection"] == "close" for r in replies)
    assert stopped_seconds < 8  # gunicorn's graceful_timeout


# --- server-sent events ------------------------------------------------------------------------------


class EventStream:
    """A raw `GET /api/zones/<id>/events` connection; `events()` reads what has arrived so far."""

    def __init__(self, port: int, zone_id: str, last_event_id: str = "") -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=5)
        lines = [f"GET /api/zones/{zone_id}/events HTTP/1.1", "Host: 127.0.0.1", "Accept: text/event-stream"]
        if last_event_id:
            lines.append(f"Last-Event-ID: {last_event_id}")
        self.sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        self.buffer = b""

    def read_until(self, predicate, timeout_seconds: float = 5) -> bytes:
        deadline = time.monotonic() + timeout_seconds
        while not predicate(self.buffer):
            self.sock.settimeout(max(0.01, deadline - time.monotonic()))
            try:
                chunk = self.sock.recv(65536)
            except TimeoutError:
                break
            if not chunk:
                break
            self.buffer += chunk
        return self.buffer

    def events(self) -> list[dict[str, str]]:
        body = self.buffer.partition(b"\r\n\r\n")[2].decode()
        parsed = []
        for block in body.split("\n\n"):
            fields = dict(
                line.split(": ", 1) for line in block.splitlines() if line and not line.startswith(":")
            )
            if fields:
                parsed.append(fields)
        return parsed

    def close(self) -> None:
        self.sock.close()


def test_an_event_stream_sends_the_zone_at_connect_and_at_each_change(server, redis_url):
    play(server, redis_url, "stream-1", 20)
    etag = server.request(ZONE_JSON).headers["etag"]
    stream = EventStream(server.port, "living-room")
    try:
        stream.read_until(lambda b: b.count(b"\n\n") >= 1 and b"data: " in b)
        head = stream.buffer.partition(b"\r\n\r\n")[0].decode().lower()
        first = stream.events()[0]
        play(server, redis_url, "stream-2", 21)
        stream.read_until(lambda b: b.count(b"event: zone") >= 2)
        second = stream.events()[1]
    finally:
        stream.close()

    assert "content-type: text/event-stream" in head
    assert first["event"] == "zone"
    assert first["id"] == etag
    assert '"title":"stream-1"' in first["data"]
    assert '"title":"stream-2"' in second["data"]
    assert second["id"] != first["id"]


def test_a_reconnect_with_the_current_event_id_gets_nothing_until_the_next_change(server, redis_url):
    play(server, redis_url, "resume-1", 22)
    current = server.request(ZONE_JSON).headers["etag"]
    stream = EventStream(server.port, "living-room", last_event_id=current)
    try:
        stream.read_until(lambda b: b"data: " in b, timeout_seconds=1)
        before = stream.events()
        play(server, redis_url, "resume-2", 23)
        stream.read_until(lambda b: b"data: " in b)
        after = stream.events()
    finally:
        stream.close()

    assert before == []
    assert len(after) == 1
    assert '"title":"resume-2"' in after[0]["data"]


def test_an_event_stream_for_an_unknown_zone_is_a_404(server, redis_url):
    assert server.request("/api/zones/nowhere/events").status == 404


def test_event_streams_beyond_the_waiter_limit_get_503_and_a_closed_one_frees_its_slot(
    small_server, redis_url
):
    play(small_server, redis_url, "streams", 24)
    streams = [EventStream(small_server.port, "living-room") for _ in range(3)]
    for stream in streams:
        stream.read_until(lambda b: b"data: " in b)
    wait_for(lambda: held(small_server) == 3, 5, what="three streams")

    refused = small_server.request("/api/zones/living-room/events")
    streams[0].close()
    wait_for(lambda: held(small_server) == 2, 5, what="the closed stream's slot back")
    another = EventStream(small_server.port, "living-room")
    try:
        another.read_until(lambda b: b"data: " in b)
    finally:
        another.close()
        for stream in streams[1:]:
            stream.close()

    assert refused.status == 503
    assert refused.headers["retry-after"] == "30"
    assert another.events()[0]["event"] == "zone"


def test_held_requests_end_at_their_wait_with_304_while_redis_is_away(small_server, redis_server, redis_url):
    name = play(small_server, redis_url, "cover-redis", 25)
    waiters = [Waiter(small_server.port, f"{IMAGE}?wait=2", f'"{name.hash}"') for _ in range(2)]
    wait_for(lambda: held(small_server) == 2, 5, what="two held requests")
    started = time.monotonic()

    redis_server.stop()
    try:
        replies = [w.result(10) for w in waiters]
        ended_seconds = time.monotonic() - started
    finally:
        redis_server.start()

    assert [r.status for r in replies] == [304, 304]
    assert all(r.headers["etag"] == f'"{name.hash}"' for r in replies)
    assert ended_seconds < 4  # at their wait (2 s), not later
