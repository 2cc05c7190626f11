"""The poller as a real process: unmodified soco against fakesonos, publishing to a real redis-server."""

from __future__ import annotations

import io
import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import cast

import pytest
import redis
from PIL import Image

from fakesonos import Household
from fakesonos.covers import generated_cover
from fakesonos.model import Track
from tests.support.images import is_baseline_jpeg
from tests.support.processes import ServiceProcess, service_env
from tests.support.redis_server import RedisServer
from tests.support.waiting import wait_for

pytestmark = pytest.mark.timeout(60)

ZONE = "living-room"


@pytest.fixture
def household(fake_household: Callable[..., Household]) -> Household:
    household = fake_household("Living Room")
    household.speaker(ZONE).set_track(track("Opening Song"))
    return household


@pytest.fixture
def client(redis_url: str) -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    yield client
    client.close()


@pytest.fixture
def start_poller(
    redis_url: str, artwork_dir: Path, tmp_path: Path
) -> Iterator[Callable[[Household], ServiceProcess]]:
    started: list[ServiceProcess] = []

    def start(household: Household) -> ServiceProcess:
        speakers = ",".join(s.ip for s in household.speakers)
        env = service_env(
            REDIS_URL=redis_url,
            ARTWORK_DIR=str(artwork_dir),
            SONOS_SPEAKERS=speakers,
            POLL_INTERVAL_SECONDS="1",
            POLLER_HEARTBEAT_FILE=str(tmp_path / "heartbeat"),
        )
        process = ServiceProcess("poller", env, tmp_path / f"poller-{len(started)}.log")
        started.append(process)
        return process

    yield start
    for process in started:
        process.close()


def track(title: str, *, cover: bool = True) -> Track:
    return Track(
        title, "The Artist", "The Album", cover=generated_cover(title, "The Artist") if cover else None
    )


def zone_hash(client: redis.Redis) -> dict[str, str]:
    return client.hgetall(f"sonos:zone:{ZONE}")  # type: ignore[return-value]


def zone_with_title(client: redis.Redis, title: str) -> dict[str, str] | None:
    zone = zone_hash(client)
    return zone if zone.get("title") == title else None


def stream_entries(client: redis.Redis, after_id: str) -> list[tuple[str, dict[str, str]]]:
    return cast(list[tuple[str, dict[str, str]]], client.xrange("sonos:events", min=f"({after_id}"))


def wait_for_title(
    client: redis.Redis, title: str, poller: ServiceProcess, timeout_seconds: float
) -> dict[str, str]:
    return wait_for(
        lambda: zone_with_title(client, title),
        timeout_seconds=timeout_seconds,
        what=lambda: f"title {title!r} in Redis; poller log:\n{poller.output()}",
    )


def test_new_track_appears_within_3_s_as_hash_stream_message_and_images(
    household: Household, client: redis.Redis, start_poller, artwork_dir: Path
):
    poller = start_poller(household)
    first = wait_for_title(client, "Opening Song", poller, timeout_seconds=15)
    pubsub = client.pubsub()  # type: ignore[no-untyped-call]
    pubsub.subscribe("sonos:changes")
    wait_for(lambda: pubsub.get_message(timeout=0.1), 5, what="subscribe confirmation")
    last_id = stream_entries(client, "0")[-1][0]

    household.speaker(ZONE).set_track(track("Café Nouveau"))
    changed_at = time.monotonic()
    zone = wait_for_title(client, "Café Nouveau", poller, timeout_seconds=3)
    assert time.monotonic() - changed_at < 3

    entries = stream_entries(client, last_id)
    assert [(e["type"], e["zone"], e["title"]) for _, e in entries] == [("track", ZONE, "Café Nouveau")]
    message = wait_for(lambda: pubsub.get_message(timeout=0.5), 3, what="pub/sub message")
    assert json.loads(message["data"])["title"] == "Café Nouveau"
    pubsub.close()

    assert int(zone["version"]) > int(first["version"])
    images = json.loads(zone["images"])
    assert images != json.loads(first["images"]), "the previous track's art must never be reused"
    with Image.open(artwork_dir / images["square720"]) as square:
        assert (square.format, square.size, square.mode) == ("BMP", (720, 720), "P")
    jpeg_bytes = (artwork_dir / images["jpeg720"]).read_bytes()
    assert is_baseline_jpeg(jpeg_bytes)
    with Image.open(io.BytesIO(jpeg_bytes)) as jpeg:
        assert jpeg.size == (720, 720)
    with Image.open(artwork_dir / images["bar320x960"]) as bar:
        assert bar.size == (320, 960)


def test_track_without_art_gets_a_placeholder_not_the_previous_art(
    household: Household, client: redis.Redis, start_poller, artwork_dir: Path
):
    poller = start_poller(household)
    first = wait_for_title(client, "Opening Song", poller, timeout_seconds=15)
    household.speaker(ZONE).set_track(track("No Cover Here", cover=False))
    zone = wait_for_title(client, "No Cover Here", poller, timeout_seconds=5)
    assert zone["art_hash"] == ""
    assert json.loads(zone["images"])["square720"] != json.loads(first["images"])["square720"]
    with Image.open(artwork_dir / json.loads(zone["images"])["square720"]) as image:
        assert image.size == (720, 720)


def test_zone_state_is_reasserted_after_redis_restarts_empty(
    household: Household, client: redis.Redis, start_poller, redis_server: RedisServer
):
    poller = start_poller(household)
    wait_for_title(client, "Opening Song", poller, timeout_seconds=15)
    redis_server.restart(down_seconds=2)
    zone = wait_for_title(client, "Opening Song", poller, timeout_seconds=15)
    assert client.sismember("sonos:zones", ZONE)
    assert zone["name"] == "Living Room"
    assert poller.process.poll() is None


def test_heartbeat_reports_pid_mode_and_zones(household: Household, client: redis.Redis, start_poller):
    poller = start_poller(household)
    beat = wait_for(lambda: cast(str | None, client.get("sonos:poller")), 15, what="heartbeat")
    payload = json.loads(beat)
    assert payload["pid"] == poller.process.pid
    assert payload["zones"] == {ZONE: "polling"}
    assert 0 < client.ttl("sonos:poller") <= 60


def test_sigterm_stops_the_poller_with_exit_0_within_2_s(
    household: Household, client: redis.Redis, start_poller
):
    poller = start_poller(household)
    wait_for_title(client, "Opening Song", poller, timeout_seconds=15)
    began = time.monotonic()
    assert poller.terminate() == 0
    assert time.monotonic() - began < 2, poller.output()


def test_a_vanished_speaker_does_not_stop_the_poller(household: Household, client: redis.Redis, start_poller):
    poller = start_poller(household)
    wait_for_title(client, "Opening Song", poller, timeout_seconds=15)
    household.stop()
    wait_for(
        lambda: "unavailable" in poller.output(),
        10,
        what=lambda: f"a warning about the vanished speaker in:\n{poller.output()}",
    )
    assert poller.process.poll() is None
    assert zone_hash(client)["title"] == "Opening Song", "the last good state stays published"
