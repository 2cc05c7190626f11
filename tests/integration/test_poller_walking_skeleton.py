"""The poller as a real process: unmodified soco against fakesonos, publishing to a real redis-server."""

from __future__ import annotations

import io
import json
import signal
import time
from collections.abc import Callable
from pathlib import Path

import pytest
import redis
from PIL import Image

from fakesonos import Household
from fakesonos.faults import SpeakerFault
from harness.poller import PollerRunner, heartbeat, stream_entries, track, wait_for_title, zone_hash
from harness.redis_server import RedisServer
from harness.waiting import wait_for
from tests.support.images import is_baseline_jpeg

pytestmark = pytest.mark.timeout(60)

ZONE = "living-room"


@pytest.fixture(params=["events", "polling"])
def pollers(request: pytest.FixtureRequest, pollers: PollerRunner) -> PollerRunner:
    """Every test here runs with UPnP events (SONOS_EVENTS=on) and with polling only (off)."""
    pollers.mode = request.param
    return pollers


@pytest.fixture
def household(fake_household: Callable[..., Household]) -> Household:
    household = fake_household("Living Room")
    household.speaker(ZONE).set_track(track("Opening Song"))
    return household


def track_message(pubsub: redis.client.PubSub) -> dict[str, str] | None:
    """The next message on sonos:changes that carries a zone's state, skipping room-map messages."""
    message = pubsub.get_message(timeout=0.5)
    if message is None or message["type"] != "message":
        return None
    data: dict[str, str] = json.loads(message["data"])
    return data if "title" in data else None


def test_new_track_appears_within_3_s_as_hash_stream_message_and_images(
    household: Household, client: redis.Redis, pollers: PollerRunner, artwork_dir: Path
):
    poller = pollers.start(household)
    first = wait_for_title(client, ZONE, "Opening Song", poller, timeout_seconds=15)
    pubsub = client.pubsub()  # type: ignore[no-untyped-call]
    pubsub.subscribe("sonos:changes")
    wait_for(lambda: pubsub.get_message(timeout=0.1), 5, what="subscribe confirmation")
    last_id = stream_entries(client)[-1][0]

    household.speaker(ZONE).set_track(track("Café Nouveau"))
    changed_at = time.monotonic()
    zone = wait_for_title(client, ZONE, "Café Nouveau", poller, timeout_seconds=3)
    assert time.monotonic() - changed_at < 3

    entries = stream_entries(client, last_id)
    assert [(e["type"], e["zone"], e["title"]) for _, e in entries] == [("track", ZONE, "Café Nouveau")]
    # The first state is followed by a {"rooms": ...} message that may land after the subscribe.
    message = wait_for(lambda: track_message(pubsub), 3, what="pub/sub track message")
    assert message["title"] == "Café Nouveau"
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
    household: Household, client: redis.Redis, pollers: PollerRunner, artwork_dir: Path
):
    poller = pollers.start(household)
    first = wait_for_title(client, ZONE, "Opening Song", poller, timeout_seconds=15)
    household.speaker(ZONE).set_track(track("No Cover Here", cover=False))
    zone = wait_for_title(client, ZONE, "No Cover Here", poller, timeout_seconds=5)
    assert zone["art_hash"] == ""
    assert json.loads(zone["images"])["square720"] != json.loads(first["images"])["square720"]
    with Image.open(artwork_dir / json.loads(zone["images"])["square720"]) as image:
        assert image.size == (720, 720)


def test_zone_state_is_reasserted_after_redis_restarts_empty(
    household: Household, client: redis.Redis, pollers: PollerRunner, redis_server: RedisServer
):
    poller = pollers.start(household)
    wait_for_title(client, ZONE, "Opening Song", poller, timeout_seconds=15)
    redis_server.restart(down_seconds=2)
    # Generous: in `make test` this shares 2 cores with the compose load tests.
    zone = wait_for_title(client, ZONE, "Opening Song", poller, timeout_seconds=30)
    assert client.sismember("sonos:zones", ZONE)
    assert zone["name"] == "Living Room"
    assert poller.process.poll() is None


def test_a_change_made_while_redis_is_down_is_published_when_it_returns(
    household: Household, client: redis.Redis, pollers: PollerRunner, redis_server: RedisServer
):
    poller = pollers.start(household)
    wait_for_title(client, ZONE, "Opening Song", poller, timeout_seconds=15)
    redis_server.stop()
    household.speaker(ZONE).set_track(track("While Redis Was Away"))
    wait_for(lambda: "Redis unavailable" in poller.output(), 10, what=poller.output)
    redis_server.start()
    wait_for_title(client, ZONE, "While Redis Was Away", poller, timeout_seconds=15)
    assert poller.output().count("Redis unavailable") == 1, "the outage is logged once, not every tick"


def test_heartbeat_reports_pid_mode_and_zones(
    household: Household, client: redis.Redis, pollers: PollerRunner
):
    poller = pollers.start(household)
    # A zone is in `polling` until a worker has read it and its subscription is accepted.
    payload = wait_for(
        lambda: (beat := heartbeat(client)) and beat["zones"] == {ZONE: pollers.mode} and beat,
        15,
        what=f"heartbeat with {ZONE} in {pollers.mode} mode",
    )
    assert payload["pid"] == poller.process.pid
    assert payload["mode"] == pollers.mode
    assert 0 < client.ttl("sonos:poller") <= 60


def test_sigterm_stops_the_poller_with_exit_0_within_2_s(
    household: Household, client: redis.Redis, pollers: PollerRunner
):
    poller = pollers.start(household)
    wait_for_title(client, ZONE, "Opening Song", poller, timeout_seconds=15)
    began = time.monotonic()
    assert poller.terminate() == 0
    assert time.monotonic() - began < 2, poller.output()


def test_a_vanished_speaker_does_not_stop_the_poller(
    household: Household, client: redis.Redis, pollers: PollerRunner
):
    poller = pollers.start(household)
    wait_for_title(client, ZONE, "Opening Song", poller, timeout_seconds=15)
    household.stop()
    wait_for(
        lambda: "unavailable" in poller.output(),
        10,
        what=lambda: f"a warning about the vanished speaker in:\n{poller.output()}",
    )
    assert poller.process.poll() is None
    assert zone_hash(client, ZONE)["title"] == "Opening Song", "the last good state stays published"


def test_a_stalled_loop_makes_the_watchdog_exit_non_zero(
    household: Household, client: redis.Redis, pollers: PollerRunner
):
    poller = pollers.start(household, WATCHDOG_SECONDS="2")
    wait_for_title(client, ZONE, "Opening Song", poller, timeout_seconds=15)
    poller.process.send_signal(signal.SIGUSR1)
    assert poller.process.wait(timeout=10) == 1
    assert "stalled" in poller.output()


def test_a_zone_job_stuck_longer_than_the_watchdog_allows_exits_non_zero_too(
    household: Household, client: redis.Redis, pollers: PollerRunner
):
    # The loop itself keeps its passes; the zone's worker is stuck in a speaker read.
    poller = pollers.start(
        household, WATCHDOG_SECONDS="2", SPEAKER_TIMEOUT_SECONDS="30", POLL_INTERVAL_SECONDS="0.5"
    )
    wait_for_title(client, ZONE, "Opening Song", poller, timeout_seconds=15)
    household.speaker(ZONE).set_fault(SpeakerFault.HANG)
    assert poller.process.wait(timeout=15) == 1
    assert "a zone job running that long" in poller.output()
