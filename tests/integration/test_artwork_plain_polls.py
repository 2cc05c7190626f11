"""A display's every-second poll for the image it already has, answered by the worker's event loop;
and its plain fetch of a new image, answered by a thread straight from the file.

One worker with one thread, so that a client holding that thread shows where an answer came from.
Answers that skip gunicorn's request machinery must be the very bytes it writes for the app's answer:
a header the fast answers leave alone (`X-Probe`) sends the same request the usual way, to compare.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from contract.layout import ArtName, rendition_name
from contract.profiles import BUILTIN_PROFILES
from harness.gunicorn import (
    ArtworkServer,
    artwork_in,
    make_zone,
    metric,
    metric_samples,
    seed_zone,
    write_rendition,
)
from harness.redis_server import RedisServer
from harness.waiting import wait_for

SQUARE = BUILTIN_PROFILES["square720"]
JPEG = BUILTIN_PROFILES["jpeg720"]
POLL = "/zones/living-room/square720.bmp"
ZONE_ROUTE = "/zones/<zone_id>/<filename>"
READ_TIMEOUT_SECONDS = 6.0

pytestmark = pytest.mark.timeout(40)


@pytest.fixture(scope="module")
def server(redis_server: RedisServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ArtworkServer]:
    env = {
        "ARTWORK_WORKERS": "1",
        "ARTWORK_THREADS": "1",
        "ARTWORK_MAX_CONNECTIONS": "4",
        "ARTWORK_READ_TIMEOUT_SECONDS": str(READ_TIMEOUT_SECONDS),
    }
    with artwork_in(redis_server, tmp_path_factory.mktemp("plain-polls"), env) as running:
        yield running


@pytest.fixture
def cover(server: ArtworkServer, redis_url: str) -> ArtName:
    """Zone `living-room` playing a cover; returns its square rendition."""
    name = write_rendition(server.artwork_dir, SQUARE, source_id=f"cover-{time.monotonic_ns()}")
    seed_zone(redis_url, make_zone("living-room", {"square720": name}))
    return name


class KeptAlive:
    """One HTTP/1.1 connection kept open across requests, as a display's client keeps it."""

    def __init__(self, port: int) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        self._buffer = b""
        self._head_only = False

    def send(self, path: str, *headers: str, method: str = "GET") -> None:
        lines = [f"{method} {path} HTTP/1.1", "Host: pi", *headers]
        self.sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())

    def response(self) -> tuple[bytes, dict[str, str], bytes]:
        """The next whole response: its head, its headers (lower-case names) and its body."""
        while b"\r\n\r\n" not in self._buffer:
            self._receive()
        head, _, self._buffer = self._buffer.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
        length = int(headers.get("content-length", "0")) if lines[0].split()[1] != "304" else 0
        if self._head_only:
            length, self._head_only = 0, False
        while len(self._buffer) < length:
            self._receive()
        body, self._buffer = self._buffer[:length], self._buffer[length:]
        return head, headers, body

    def get(self, path: str, *headers: str) -> tuple[bytes, dict[str, str], bytes]:
        self.send(path, *headers)
        return self.response()

    def head(self, path: str, *headers: str) -> tuple[bytes, dict[str, str], bytes]:
        self.send(path, *headers, method="HEAD")
        self._head_only = True
        return self.response()

    def _receive(self) -> None:
        chunk = self.sock.recv(65536)
        assert chunk, "the server closed the connection"
        self._buffer += chunk

    def close(self) -> None:
        self.sock.close()


@pytest.fixture
def display(server: ArtworkServer) -> Iterator[KeptAlive]:
    connection = KeptAlive(server.port)
    yield connection
    connection.close()


def status(head: bytes) -> int:
    return int(head.split(b" ", 2)[1])


def without_date(head: bytes) -> bytes:
    return b"\r\n".join(line for line in head.split(b"\r\n") if not line.startswith(b"Date: "))


def test_a_display_keeps_one_connection_and_gets_304s_until_the_cover_changes_then_the_new_cover(
    server: ArtworkServer, redis_url: str, cover: ArtName, display: KeptAlive
):
    holds = f'If-None-Match: "{cover.hash}"'
    polls = [display.get(POLL, holds) for _ in range(3)]
    new = write_rendition(server.artwork_dir, SQUARE, source_id="the-next-track")
    seed_zone(redis_url, make_zone("living-room", {"square720": new}))
    changed = display.get(POLL, holds)
    again = display.get(POLL, f'If-None-Match: "{new.hash}"')

    assert [status(head) for head, _, _ in polls] == [304, 304, 304]
    assert all(body == b"" and headers["connection"] == "keep-alive" for _, headers, body in polls)
    assert status(changed[0]) == 200
    assert changed[1]["etag"] == f'"{new.hash}"'
    assert changed[2] == (server.artwork_dir / new.relpath).read_bytes()
    assert status(again[0]) == 304


def test_the_event_loops_304_is_the_threads_304_but_for_the_date(cover: ArtName, display: KeptAlive):
    holds = f'If-None-Match: "{cover.hash}"'

    from_the_loop, _, _ = display.get(POLL, holds)
    from_a_thread, _, _ = display.get(POLL, holds, "X-Probe: 1")  # a header the loop leaves to a thread

    assert status(from_the_loop) == 304
    assert without_date(from_the_loop) == without_date(from_a_thread)


def test_a_plain_fetch_of_the_zone_image_is_the_apps_200_but_for_the_date(
    server: ArtworkServer, cover: ArtName, display: KeptAlive
):
    plain = display.get(POLL)
    the_usual_way = display.get(POLL, "X-Probe: 1")
    from_a_browser = display.get(POLL, "Connection: keep-alive", f'If-None-Match: "{"0" * 64}"')

    assert status(plain[0]) == 200
    assert without_date(plain[0]) == without_date(the_usual_way[0]) == without_date(from_a_browser[0])
    assert (
        plain[2] == the_usual_way[2] == from_a_browser[2] == (server.artwork_dir / cover.relpath).read_bytes()
    )


def test_a_plain_head_request_gets_the_gets_headers_and_no_body(cover: ArtName, display: KeptAlive):
    plain = display.head(POLL)
    the_usual_way = display.head(POLL, "X-Probe: 1")
    then_a_get = display.get(POLL)  # the connection carries on: no body was left unread

    assert status(plain[0]) == 200
    assert without_date(plain[0]) == without_date(the_usual_way[0])
    assert plain[1]["content-length"] == then_a_get[1]["content-length"] != "0"
    assert status(then_a_get[0]) == 200


def test_a_plain_fetch_of_a_rendition_by_its_name_is_the_apps_200_with_its_last_modified(
    server: ArtworkServer, cover: ArtName, display: KeptAlive
):
    path = f"/art/{cover.filename}"
    plain, the_usual_way = display.get(path), display.get(path, "X-Probe: 1")
    plain_head, usual_head = display.head(path), display.head(path, "X-Probe: 1")
    # A list of ETags is werkzeug's to match: the app answers it.
    listed = display.get(path, f'If-None-Match: "x", "{cover.hash}"')

    assert status(plain[0]) == 200
    assert "last-modified" in plain[1]
    assert without_date(plain[0]) == without_date(the_usual_way[0])
    assert plain[2] == the_usual_way[2] == (server.artwork_dir / cover.relpath).read_bytes()
    assert without_date(plain_head[0]) == without_date(usual_head[0]) == without_date(plain[0])
    assert status(listed[0]) == 304


def test_a_zone_image_whose_file_is_gone_is_the_apps_404(
    server: ArtworkServer, redis_url: str, display: KeptAlive
):
    name = write_rendition(server.artwork_dir, SQUARE, source_id=f"gone-{time.monotonic_ns()}")
    seed_zone(redis_url, make_zone("living-room", {"square720": name}))
    (server.artwork_dir / name.relpath).unlink()

    plain = display.get(POLL)
    the_usual_way = display.get(POLL, "X-Probe: 1")

    assert status(plain[0]) == 404
    assert without_date(plain[0]) == without_date(the_usual_way[0])
    assert plain[2] == the_usual_way[2]


def test_many_plain_fetches_and_polls_share_one_kept_alive_connection(cover: ArtName, display: KeptAlive):
    answers = [display.get(POLL, *([f'If-None-Match: "{cover.hash}"'] if i % 2 else [])) for i in range(20)]

    assert [status(head) for head, _, _ in answers] == [200, 304] * 10
    assert all(headers["connection"] == "keep-alive" for _, headers, _ in answers)


def test_plain_fetches_are_counted_as_200s_of_the_zone_image_route_with_their_bytes(
    server: ArtworkServer, cover: ArtName, display: KeptAlive
):
    def zone_figures() -> tuple[float, float]:
        samples = metric_samples(server)
        return (
            metric(samples, "artwork_http_requests_total", route=ZONE_ROUTE, status="200"),
            metric(samples, "artwork_http_response_body_bytes_total", route=ZONE_ROUTE),
        )

    size_bytes = (server.artwork_dir / cover.relpath).stat().st_size
    requests_before, bytes_before = zone_figures()
    for _ in range(3):
        display.get(POLL)

    wait_for(
        lambda: zone_figures() == (requests_before + 3, bytes_before + 3 * size_bytes), 5, what="three 200s"
    )


def test_pipelined_polls_are_each_answered_in_order(cover: ArtName, display: KeptAlive):
    holds = f'If-None-Match: "{cover.hash}"'
    request = f"GET {POLL} HTTP/1.1\r\nHost: pi\r\n{holds}\r\n\r\n".encode()

    display.sock.sendall(request * 3 + b"GET /zones/living-room/jpeg720.jpg HTTP/1.1\r\nHost: pi\r\n\r\n")
    answers = [display.response() for _ in range(4)]

    assert [status(head) for head, _, _ in answers] == [304, 304, 304, 404]


def test_polls_are_answered_while_a_slow_client_holds_the_only_thread(
    server: ArtworkServer, cover: ArtName, display: KeptAlive, tmp_path: Path
):
    big = rendition_name("a-large-file", JPEG)
    path = server.artwork_dir / big.relpath
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"\xff" * 32_000_000)  # far more than the socket buffers hold
    slow = socket.socket()
    slow.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    slow.connect(("127.0.0.1", server.port))
    try:
        slow.sendall(f"GET /art/{big.filename} HTTP/1.1\r\nHost: pi\r\n\r\n".encode())
        slow.recv(1)  # the thread has started sending, and now waits on this client, which reads no more
        started = time.monotonic()
        head, _, _ = display.get(POLL, f'If-None-Match: "{cover.hash}"')
        answered_seconds = time.monotonic() - started
    finally:
        slow.close()
        path.unlink()

    assert status(head) == 304
    assert answered_seconds < READ_TIMEOUT_SECONDS / 2  # a thread would be free only at the write timeout


def test_polls_the_event_loop_answers_are_counted_as_304s_of_the_zone_image_route(
    server: ArtworkServer, cover: ArtName, display: KeptAlive
):
    def zone_304s() -> float:
        return metric(metric_samples(server), "artwork_http_requests_total", route=ZONE_ROUTE, status="304")

    before = zone_304s()
    for _ in range(5):
        display.get(POLL, f'If-None-Match: "{cover.hash}"')

    wait_for(lambda: zone_304s() - before == 5, 5, what="five polls counted")
