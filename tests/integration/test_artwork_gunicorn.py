"""The artwork service under a real gunicorn: bytes, headers and refusals as clients see them."""

from __future__ import annotations

import json
import os
import select
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from contract.errors import CONFIG_EXIT_CODE
from contract.layout import ArtName, rendition_name
from contract.profiles import BUILTIN_PROFILES
from harness.gunicorn import (
    ArtworkServer,
    Reply,
    artwork_in,
    gunicorn_command,
    make_zone,
    metric,
    metric_samples,
    running_artwork,
    seed_zone,
    server_env,
    worker_pids,
    write_rendition,
)
from harness.net import free_port
from harness.redis_server import RedisServer
from harness.waiting import wait_for

SQUARE = BUILTIN_PROFILES["square720"]
JPEG = BUILTIN_PROFILES["jpeg720"]


@pytest.fixture(scope="module")
def server(redis_server: RedisServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ArtworkServer]:
    """One gunicorn for this module; stopping it with SIGTERM must end it cleanly."""
    with artwork_in(redis_server, tmp_path_factory.mktemp("artwork-gunicorn")) as running:
        yield running


@pytest.fixture
def playing(server: ArtworkServer, redis_url: str) -> dict[str, ArtName]:
    """Zone `living-room` playing, with a square BMP and a JPEG on the server's volume."""
    names = {p.name: write_rendition(server.artwork_dir, p) for p in (SQUARE, JPEG)}
    seed_zone(redis_url, make_zone("living-room", names))
    return names


def _ok_or_none(server: ArtworkServer, path: str) -> Reply | None:
    reply = server.request(path)
    return reply if reply.status == 200 else None


def _file_bytes(server: ArtworkServer, name: ArtName) -> bytes:
    return (server.artwork_dir / name.relpath).read_bytes()


@pytest.mark.timeout(20)
def test_the_zones_current_image_is_the_exact_file_with_its_hash_as_etag(
    server: ArtworkServer, playing: dict[str, ArtName]
):
    square = playing["square720"]
    data = _file_bytes(server, square)

    reply = server.request("/zones/living-room/square720.bmp")

    assert reply.status == 200
    assert reply.body == data
    assert reply.headers["content-length"] == str(len(data))
    assert reply.headers["content-type"] == "image/bmp"
    assert reply.headers["etag"] == f'"{square.hash}"'
    assert reply.headers["cache-control"] == "no-cache"


@pytest.mark.timeout(20)
def test_the_same_etag_gives_304_with_no_body(server: ArtworkServer, playing: dict[str, ArtName]):
    etag = server.request("/zones/living-room/square720.bmp").headers["etag"]

    reply = server.request("/zones/living-room/square720.bmp", headers={"If-None-Match": etag})

    assert reply.status == 304
    assert reply.body == b""


@pytest.mark.timeout(20)
def test_head_gives_the_headers_of_the_image_and_no_body(server: ArtworkServer, playing: dict[str, ArtName]):
    size = len(_file_bytes(server, playing["jpeg720"]))

    reply = server.request("/zones/living-room/jpeg720.jpg", method="HEAD")

    assert reply.status == 200
    assert reply.headers["content-type"] == "image/jpeg"
    assert reply.headers["content-length"] == str(size)
    assert reply.body == b""


@pytest.mark.timeout(20)
def test_a_rendition_is_served_as_immutable(server: ArtworkServer, playing: dict[str, ArtName]):
    jpeg = playing["jpeg720"]

    reply = server.request(f"/art/{jpeg.filename}")

    assert reply.status == 200
    assert reply.body == _file_bytes(server, jpeg)
    assert reply.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert reply.headers["etag"] == f'"{jpeg.hash}"'


@pytest.mark.timeout(20)
def test_an_unknown_zone_is_a_404_json(server: ArtworkServer, redis_url: str):
    reply = server.request("/zones/attic/square720.bmp")

    assert reply.status == 404
    assert reply.headers["content-type"] == "application/json"
    assert json.loads(reply.body) == {"error": "unknown zone"}


TRAVERSALS = [
    "/art/../../etc/passwd",
    "/art/%2e%2e/%2e%2e/etc/passwd",
    "/art/..%2F..%2Fetc%2Fpasswd",
    "/zones/..%2F..%2Fetc/passwd.bmp",
    "/zones/living-room/..%2F..%2F..%2Fetc%2Fpasswd",
    "/art//etc/passwd",
    "//etc/passwd",
    "/zones/living-room/../../../etc/passwd",
    "/art/0123456789abcdef0123456789abcdef-square720.bmp%00",
    "/art/%00../../etc/passwd",
    "/zones/living-room%00/square720.bmp",
]


@pytest.mark.timeout(30)
@pytest.mark.parametrize("path", TRAVERSALS)
def test_traversal_attempts_are_a_404_json(server: ArtworkServer, playing: dict[str, ArtName], path: str):
    reply = server.request(path)

    assert reply.status == 404, reply
    assert b"root:" not in reply.body
    assert "error" in json.loads(reply.body)


@pytest.mark.timeout(20)
def test_a_valid_name_that_is_a_symlink_out_of_the_volume_is_not_served(
    server: ArtworkServer, redis_url: str, tmp_path: Path
):
    secret = tmp_path / "secret.bmp"
    secret.write_bytes(b"BM-secret-bytes")
    name = rendition_name("symlinked", SQUARE)
    link = server.artwork_dir / name.relpath
    link.parent.mkdir(parents=True, exist_ok=True)
    link.symlink_to(secret)
    seed_zone(redis_url, make_zone("den", {"square720": name}))

    by_name = server.request(f"/art/{name.filename}")
    by_zone = server.request("/zones/den/square720.bmp")

    for reply in (by_name, by_zone):
        assert reply.status == 404
        assert b"secret" not in reply.body


@pytest.mark.timeout(60)
def test_while_redis_is_down_displays_keep_the_zones_last_known_and_their_art_then_it_recovers(
    server: ArtworkServer, redis_server: RedisServer, redis_url: str, playing: dict[str, ArtName]
):
    # A Redis restart (an update, a crash) used to put the offline mark on every panel: 503s.
    # Nothing can change while Redis is away, so what each worker knew is still the truth.
    square = playing["square720"]
    before = server.request("/api/zones/living-room")
    image = server.request("/zones/living-room/square720.bmp")
    assert (before.status, image.status) == (200, 200)
    redis_server.stop()
    try:
        started = time.monotonic()
        during = [server.request("/api/zones/living-room") for _ in range(4)]
        elapsed_seconds = time.monotonic() - started
        polled = server.request(
            "/zones/living-room/square720.bmp", headers={"If-None-Match": image.headers["etag"]}
        )
        art = server.request(f"/art/{square.filename}")
        ready = server.request("/readyz")
        status_page = server.request("/status")
    finally:
        redis_server.start()

    assert [reply.status for reply in during] == [200] * 4  # both workers, each from its copy
    assert all(json.loads(reply.body) == json.loads(before.body) for reply in during)
    assert elapsed_seconds < 3
    assert polled.status == 304
    assert (art.status, art.body) == (200, _file_bytes(server, square))
    assert ready.status == 503  # readiness and the status page still tell that Redis is away
    assert (status_page.status, b"unreachable" in status_page.body) == (503, True)
    # Redis came back empty, as it does in production; the poller re-asserts the state.
    seed_zone(redis_server.url, make_zone("living-room", playing))
    recovered = wait_for(lambda: _ok_or_none(server, "/api/zones/living-room"), 10, what="the zone again")
    assert json.loads(recovered.body)["id"] == "living-room"


@pytest.mark.timeout(30)
def test_a_second_gunicorn_stops_cleanly_on_sigterm(redis_server: RedisServer, tmp_path: Path):
    (tmp_path / "artwork" / "art").mkdir(parents=True)
    with running_artwork(
        artwork_dir=tmp_path / "artwork", redis_url=redis_server.url, log_path=tmp_path / "gunicorn.log"
    ) as second:
        assert second.request("/healthz").status == 200
    # Leaving the block sent SIGTERM and checked for exit status 0.
    assert second.process.returncode == 0


@pytest.mark.timeout(30)
@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("ARTWORK_THREADS", "many"),
        ("ARTWORK_MAX_CONNECTIONS", "2"),
        ("LOG_FORMAT", "xml"),
        ("ARTWORK_READ_TIMEOUT_SECONDS", "0"),
        ("PROMETHEUS_MULTIPROC_DIR", "/nonexistent/metrics"),
    ],
)
def test_bad_configuration_stops_gunicorn_with_one_line_naming_the_key(tmp_path: Path, key: str, value: str):
    env = server_env(tmp_path, "redis://127.0.0.1:1/0", free_port(), {key: value})

    result = subprocess.run(
        gunicorn_command(), env=env, capture_output=True, text=True, timeout=20, check=False
    )

    assert result.returncode == CONFIG_EXIT_CODE
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert key in lines[0]


# --- HTTP details as clients see them ---


@pytest.mark.timeout(20)
def test_a_range_request_gets_206_and_a_bad_one_416(server: ArtworkServer, playing: dict[str, ArtName]):
    jpeg = playing["jpeg720"]
    data = _file_bytes(server, jpeg)

    partial = server.request(f"/art/{jpeg.filename}", headers={"Range": "bytes=0-99"})
    unsatisfiable = server.request(f"/art/{jpeg.filename}", headers={"Range": f"bytes={len(data)}-"})

    assert partial.status == 206
    assert partial.body == data[:100]
    assert partial.headers["content-range"] == f"bytes 0-99/{len(data)}"
    assert unsatisfiable.status == 416
    assert json.loads(unsatisfiable.body) == {"error": "requested range not satisfiable"}


@pytest.mark.timeout(20)
def test_an_immutable_rendition_answers_304_to_if_modified_since(
    server: ArtworkServer, playing: dict[str, ArtName]
):
    path = f"/art/{playing['square720'].filename}"
    last_modified = server.request(path).headers["last-modified"]

    reply = server.request(path, headers={"If-Modified-Since": last_modified})

    assert reply.status == 304
    assert reply.body == b""


@pytest.mark.timeout(20)
def test_browsers_on_other_origins_may_read_everything(server: ArtworkServer, playing: dict[str, ArtName]):
    for path in ("/api/zones/living-room", "/zones/living-room/jpeg720.jpg", "/metadata.json"):
        reply = server.request(path, headers={"Origin": "http://frame.local"})

        assert reply.headers["access-control-allow-origin"] == "*", path


@pytest.mark.timeout(20)
def test_the_legacy_urls_serve_the_first_zone(server: ArtworkServer, redis_url: str):
    square = write_rendition(server.artwork_dir, SQUARE, source_id="legacy")
    bar = write_rendition(server.artwork_dir, BUILTIN_PROFILES["bar320x960"], source_id="legacy")
    seed_zone(
        redis_url, make_zone("den", {"square720": square, "bar320x960": bar}, title="Freddie Freeloader")
    )

    metadata = server.request("/metadata.json")
    image = server.request("/Adafruit/artwork.bmp")
    head = server.request("/Adafruit/artwork_bar.bmp", method="HEAD")
    status = server.request("/status")

    assert json.loads(metadata.body) == {
        "title": "Freddie Freeloader",
        "artist": "Miles Davis",
        "album": "Kind of Blue",
        "last_updated": 1_764_000_000.0,
    }
    assert server.request("/metadata.json", headers={"If-None-Match": metadata.headers["etag"]}).status == 304
    assert image.body == _file_bytes(server, square)
    assert head.status == 200
    assert head.headers["content-length"] == str(len(_file_bytes(server, bar)))
    assert "last-modified" in head.headers
    assert status.status == 200
    assert b"Freddie Freeloader" in status.body


@pytest.mark.timeout(20)
def test_the_kiosk_page_and_the_openapi_document_are_served(server: ArtworkServer):
    page = server.request("/")
    spec = server.request("/openapi.json")

    assert page.status == 200
    assert page.headers["content-type"].startswith("text/html")
    assert "script-src 'sha256-" in page.headers["content-security-policy"]
    assert json.loads(spec.body)["paths"]["/api/zones/{zone_id}"]["get"]["responses"]["304"]


# --- slow clients ---

TRICKLERS = 8
TRICKLE_INTERVAL_SECONDS = 0.25
DEFAULT_READ_TIMEOUT_SECONDS = 5.0
# The event loop reaps expired heads about once a second.
DROP_SLACK_SECONDS = 2.0


@pytest.mark.timeout(40)
def test_trickling_clients_hold_no_thread_and_are_dropped_after_the_read_timeout(server: ArtworkServer):
    before = metric_samples(server)
    tricklers = [socket.create_connection(("127.0.0.1", server.port), timeout=5) for _ in range(TRICKLERS)]
    started = time.monotonic()
    dropped_after: dict[int, float] = {}
    stop = threading.Event()

    def trickle() -> None:
        # One byte per client per interval, a request head that never ends, as a slowloris sends it.
        payload = b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"a" * 10_000
        offset = 0
        while not stop.is_set() and len(dropped_after) < TRICKLERS:
            for index, sock in enumerate(tricklers):
                if index in dropped_after:
                    continue
                readable, _, _ = select.select([sock], [], [], 0)
                try:
                    if readable and sock.recv(1024) == b"":
                        raise ConnectionResetError
                    sock.send(payload[offset : offset + 1])
                except OSError:
                    dropped_after[index] = time.monotonic() - started
            offset += 1
            time.sleep(TRICKLE_INTERVAL_SECONDS)

    thread = threading.Thread(target=trickle, daemon=True)
    thread.start()
    try:
        health_seconds = []
        for _ in range(6):
            time.sleep(0.5)
            t0 = time.monotonic()
            assert server.request("/healthz").status == 200
            health_seconds.append(time.monotonic() - t0)
        thread.join(timeout=DEFAULT_READ_TIMEOUT_SECONDS + DROP_SLACK_SECONDS + 2)
    finally:
        stop.set()
        thread.join(timeout=5)
        for sock in tricklers:
            sock.close()

    print(f"/healthz under {TRICKLERS} trickling clients: max {max(health_seconds) * 1000:.1f} ms")
    print(f"trickling clients dropped after {sorted(round(s, 2) for s in dropped_after.values())} s")
    assert max(health_seconds) < 2.0
    assert len(dropped_after) == TRICKLERS
    assert all(
        DEFAULT_READ_TIMEOUT_SECONDS - 0.5 <= s <= DEFAULT_READ_TIMEOUT_SECONDS + DROP_SLACK_SECONDS
        for s in dropped_after.values()
    ), dropped_after
    after = metric_samples(server)
    dropped = "artwork_connections_rejected_total"
    assert metric(after, dropped, reason="read_timeout") - metric(before, dropped, reason="read_timeout") == 8
    assert server.log_tail(20_000).count("request head incomplete after 5.0 s") >= TRICKLERS


@pytest.mark.timeout(20)
def test_a_client_that_connects_and_sends_nothing_is_closed_without_costing_a_thread(server: ArtworkServer):
    silent = [socket.create_connection(("127.0.0.1", server.port), timeout=10) for _ in range(8)]
    try:
        t0 = time.monotonic()
        assert server.request("/healthz").status == 200
        assert time.monotonic() - t0 < 1.0
        assert all(sock.recv(1) == b"" for sock in silent)  # closed by the server, no response
    finally:
        for sock in silent:
            sock.close()


# --- the zone state each worker keeps in memory ---


def _both_workers_follow(server: ArtworkServer) -> None:
    wait_for(
        lambda: metric(metric_samples(server), "artwork_zone_cache_following") == 2,
        10,
        what="both workers to follow the change channel",
    )


def _hgetall_calls(redis_url: str) -> int:
    client = redis.Redis.from_url(redis_url, socket_timeout=2, retry=None)
    try:
        stats = client.info("commandstats").get("cmdstat_hgetall", {"calls": 0})
    finally:
        client.close()
    return int(stats["calls"])


@pytest.mark.timeout(30)
def test_image_polls_and_state_reads_are_answered_from_memory_by_both_workers(
    server: ArtworkServer, redis_url: str, playing: dict[str, ArtName]
):
    _both_workers_follow(server)
    etag = f'"{playing["square720"].hash}"'
    before = _hgetall_calls(redis_url)

    for _ in range(40):  # a new connection each: both workers take a share
        poll = server.request("/zones/living-room/square720.bmp", headers={"If-None-Match": etag})
        assert poll.status == 304
        assert server.request("/api/zones/living-room").status == 200

    # Without the copy that would be 80 reads; each worker may re-read everything once (every 30 s):
    # the room map and the zone.
    assert _hgetall_calls(redis_url) - before <= 4


@pytest.mark.timeout(30)
def test_a_change_the_poller_published_is_what_every_worker_answers_next(
    server: ArtworkServer, redis_url: str, playing: dict[str, ArtName]
):
    _both_workers_follow(server)

    for version in range(10, 30):
        seed_zone(redis_url, make_zone("living-room", playing, title=f"Track {version}", version=version))
        for _ in range(4):  # a new connection each, to either worker
            body = json.loads(server.request("/api/zones/living-room").body)
            assert (body["version"], body["title"]) == (version, f"Track {version}")


@pytest.mark.timeout(20)
def test_a_display_that_has_the_current_image_gets_304_without_the_file_being_read(
    server: ArtworkServer, playing: dict[str, ArtName]
):
    square = playing["square720"]
    path = server.artwork_dir / square.relpath
    data = path.read_bytes()
    path.unlink()  # shows that the answer comes from the zone's hash alone
    try:
        held = server.request(
            "/zones/living-room/square720.bmp", headers={"If-None-Match": f'"{square.hash}"'}
        )
        fresh = server.request("/zones/living-room/square720.bmp")
    finally:
        path.write_bytes(data)

    assert held.status == 304
    assert fresh.status == 404


# --- metrics of the whole service ---


@pytest.mark.timeout(30)
def test_metrics_count_every_workers_requests_bytes_and_304s(
    server: ArtworkServer, playing: dict[str, ArtName]
):
    jpeg = playing["jpeg720"]
    size = len(_file_bytes(server, jpeg))
    wait_for(lambda: metric(metric_samples(server), "artwork_workers") == 2, 15, what="both workers booted")
    before = metric_samples(server)

    for _ in range(30):  # a new connection each: both workers take a share
        server.request("/healthz")
    for _ in range(5):
        server.request(f"/art/{jpeg.filename}")
        server.request(f"/art/{jpeg.filename}", headers={"If-None-Match": f'"{jpeg.hash}"'})

    # Each worker writes its figures once a second (the one answering the scrape, at once), so
    # wait until every request sent is counted: a worker may have written its /healthz counts
    # before it answered the /art requests.
    def all_counted() -> dict[tuple[str, frozenset[tuple[str, str]]], float] | None:
        samples = metric_samples(server)
        requests = "artwork_http_requests_total"

        def sent(route: str, status: str) -> float:
            return metric(samples, requests, route=route, status=status) - metric(
                before, requests, route=route, status=status
            )

        counted = (
            sent("/healthz", "200") >= 30
            and sent("/art/<filename>", "200") >= 5
            and sent("/art/<filename>", "304") >= 5
        )
        return samples if counted else None

    after = wait_for(all_counted, 5, what="both workers' counts in /metrics")

    def delta(name: str, **labels: str) -> float:
        return metric(after, name, **labels) - metric(before, name, **labels)

    assert metric(after, "artwork_workers") == 2
    assert delta("artwork_http_requests_total", route="/healthz", status="200") == 30
    assert delta("artwork_http_requests_total", route="/art/<filename>", status="200") == 5
    assert delta("artwork_http_requests_total", route="/art/<filename>", status="304") == 5
    assert delta("artwork_http_response_body_bytes_total", route="/art/<filename>") == 5 * size
    assert delta("artwork_http_request_duration_seconds_count", route="/healthz") == 30
    assert 0 < metric(after, "artwork_http_not_modified_ratio") < 1
    assert metric(after, "artwork_http_requests_in_flight") == 1  # the scrape itself


@pytest.mark.timeout(40)
def test_a_killed_worker_is_replaced_and_its_counts_are_kept(server: ArtworkServer):
    for _ in range(10):
        server.request("/healthz")
    before = metric_samples(server)
    pids = worker_pids(server)
    assert len(pids) == 2

    os.kill(pids[0], signal.SIGKILL)
    wait_for(
        lambda: len(worker_pids(server)) == 2 and pids[0] not in worker_pids(server), 15, what="a new worker"
    )

    # The replacement counts itself once booted; the dead one must no longer count (child_exit).
    def two_live_workers() -> dict[tuple[str, frozenset[tuple[str, str]]], float] | None:
        samples = metric_samples(server)
        return samples if metric(samples, "artwork_workers") == 2 else None

    after = wait_for(two_live_workers, 15, what="two live workers in /metrics")
    assert server.log_tail(20_000).count("Booting worker") == 3
    requests = "artwork_http_requests_total"
    assert metric(after, requests, route="/healthz", status="200") >= metric(
        before, requests, route="/healthz", status="200"
    )
