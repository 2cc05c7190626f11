"""The artwork service under a real gunicorn: bytes, headers and refusals as clients see them."""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from contract.layout import ArtName, rendition_name
from contract.profiles import BUILTIN_PROFILES
from tests.support.gunicorn import (
    ArtworkServer,
    Reply,
    gunicorn_command,
    make_zone,
    running_artwork,
    seed_zone,
    server_env,
    write_rendition,
)
from tests.support.net import free_port
from tests.support.redis_server import RedisServer
from tests.support.waiting import wait_for

SQUARE = BUILTIN_PROFILES["square720"]
JPEG = BUILTIN_PROFILES["jpeg720"]


@pytest.fixture(scope="module")
def server(redis_server: RedisServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ArtworkServer]:
    """One gunicorn for this module; stopping it with SIGTERM must end it cleanly."""
    if not redis_server.running:
        redis_server.start()
    workdir = tmp_path_factory.mktemp("artwork-gunicorn")
    artwork_dir = workdir / "artwork"
    (artwork_dir / "art").mkdir(parents=True)
    with running_artwork(
        artwork_dir=artwork_dir, redis_url=redis_server.url, log_path=workdir / "gunicorn.log"
    ) as running:
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
def test_redis_down_gives_a_fast_503_while_art_still_serves_and_then_recovers(
    server: ArtworkServer, redis_server: RedisServer, redis_url: str, playing: dict[str, ArtName]
):
    square = playing["square720"]
    assert server.request("/api/zones/living-room").status == 200
    redis_server.stop()
    try:
        started = time.monotonic()
        down = server.request("/api/zones/living-room")
        elapsed_seconds = time.monotonic() - started

        assert down.status == 503
        assert elapsed_seconds < 3
        assert json.loads(down.body)["error"] == "now-playing state unavailable"
        art = server.request(f"/art/{square.filename}")
        assert art.status == 200
        assert art.body == _file_bytes(server, square)
    finally:
        redis_server.start()

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
    [("ARTWORK_THREADS", "many"), ("ARTWORK_MAX_CONNECTIONS", "2"), ("LOG_FORMAT", "xml")],
)
def test_bad_configuration_stops_gunicorn_with_one_line_naming_the_key(tmp_path: Path, key: str, value: str):
    env = server_env(tmp_path, "redis://127.0.0.1:1/0", free_port(), {key: value})

    result = subprocess.run(
        gunicorn_command(), env=env, capture_output=True, text=True, timeout=20, check=False
    )

    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert key in lines[0]
