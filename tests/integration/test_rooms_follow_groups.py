"""A display pinned to a room keeps showing that room's music while rooms group and ungroup.

Real parts throughout: unmodified soco against fakesonos (with a stereo pair and a home-theatre set),
the poller as a process, a real redis-server and the artwork service under gunicorn.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path
from typing import Any

import pytest
import redis

from fakesonos import Bond, Household
from harness.gunicorn import ArtworkServer, artwork_in
from harness.poller import PollerRunner, track, wait_for_title
from harness.redis_server import RedisServer
from harness.waiting import wait_for

pytestmark = pytest.mark.timeout(120)

ROOM_URLS = ("/api/zones/kitchen", "/zones/kitchen/square720.bmp", "/zones/kitchen/jpeg720.jpg")


@pytest.fixture(scope="module")
def server(redis_server: RedisServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ArtworkServer]:
    with artwork_in(redis_server, tmp_path_factory.mktemp("rooms")) as running:
        yield running


@pytest.fixture(params=["events", "polling"])
def pollers(request: pytest.FixtureRequest, pollers: PollerRunner) -> PollerRunner:
    """With UPnP events (SONOS_EVENTS=on) and with polling only (off)."""
    pollers.mode = request.param
    return pollers


@pytest.fixture
def events_pollers(redis_url: str, artwork_dir: Path, tmp_path: Path) -> Iterator[PollerRunner]:
    """Pollers with UPnP events (SONOS_EVENTS=on) only."""
    runner = PollerRunner(redis_url, artwork_dir, tmp_path, mode="events")
    yield runner
    runner.close()


@pytest.fixture
def household(fake_household: Callable[..., Household]) -> Household:
    household = fake_household(
        "Living Room",
        ("Living Room", Bond.SUB),
        ("Living Room", Bond.SURROUND_LEFT),
        ("Living Room", Bond.SURROUND_RIGHT),
        "Kitchen",
        ("Kitchen", Bond.RIGHT),
    )
    household.speaker("living-room").set_track(track("Living Song"))
    household.speaker("kitchen").set_track(track("Kitchen Song"))
    return household


def _json(server: ArtworkServer, path: str) -> dict[str, Any]:
    reply = server.request(path)
    assert reply.status == 200, (path, reply.status, reply.body[:200])
    return json.loads(reply.body)  # type: ignore[no-any-return]


def _title_of(server: ArtworkServer, room: str) -> str:
    return str(_json(server, f"/api/zones/{room}")["title"])


def _title_is(server: ArtworkServer, room: str, title: str) -> bool:
    return _title_of(server, room) == title


class RoomWatcher:
    """Requests every URL of a room over and over in the background; records any answer but 200/304."""

    def __init__(self, server: ArtworkServer) -> None:
        self._server = server
        self._stop = threading.Event()
        self.failures: list[tuple[str, int]] = []
        self.requests = 0
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> RoomWatcher:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(5)

    def _run(self) -> None:
        while not self._stop.is_set():
            for path in ROOM_URLS:
                status = self._server.request(path).status
                self.requests += 1
                if status not in (200, 304):
                    self.failures.append((path, status))


def test_a_grouped_room_shows_its_groups_music_and_its_own_again_after_ungrouping(
    household: Household, client: redis.Redis, pollers: PollerRunner, server: ArtworkServer, redis_url: str
):
    poller = pollers.start(household, ARTWORK_DIR=str(server.artwork_dir))
    wait_for_title(client, "kitchen", "Kitchen Song", poller, timeout_seconds=15)
    wait_for_title(client, "living-room", "Living Song", poller, timeout_seconds=15)
    wait_for(
        lambda: client.hgetall("sonos:rooms").get("kitchen") == "kitchen", 10, what="kitchen's room entry"
    )
    assert _title_of(server, "kitchen") == "Kitchen Song"

    with RoomWatcher(server) as watcher:
        household.group("living-room", ["kitchen"])
        # At the default DISCOVERY_INTERVAL_SECONDS (60): the kitchen's own event tells of the regroup.
        wait_for(
            lambda: _title_of(server, "kitchen") == "Living Song",
            5,
            what=lambda: f"kitchen follows its group\n{poller.output()}",
        )
        kitchen = _json(server, "/api/zones/kitchen")
        assert (kitchen["room"], kitchen["group"], kitchen["id"]) == ("kitchen", "living-room", "living-room")
        assert kitchen["image_urls"]["square720"] == "/zones/kitchen/square720.bmp"
        wait_for(
            lambda: (
                {r["id"] for r in _json(server, "/api/zones/kitchen")["rooms"]} == {"living-room", "kitchen"}
            ),
            10,
            what="the group's members name both rooms",
        )

        # The kitchen's square image is the group's cover, and revalidates to a 304.
        image = server.request("/zones/kitchen/square720.bmp")
        assert image.status == 200, (image.status, image.body[:300])
        assert image.body == server.request("/zones/living-room/square720.bmp").body
        etag = image.headers["etag"]
        assert server.request("/zones/kitchen/square720.bmp", headers={"If-None-Match": etag}).status == 304

        household.speaker("living-room").set_track(track("Next Shared Song"))
        wait_for(
            lambda: _title_of(server, "kitchen") == "Next Shared Song",
            10,
            what="the next track in the kitchen",
        )
        changed = server.request("/zones/kitchen/square720.bmp", headers={"If-None-Match": etag})
        assert changed.status == 200
        assert changed.headers["etag"] != etag

        household.ungroup("kitchen")
        household.speaker("kitchen").set_track(track("Kitchen Again"))
        # Polling, the poller asks how rooms group every 5 s; with events, a topology event says so.
        wait_for(
            lambda: _title_of(server, "kitchen") == "Kitchen Again",
            10,
            what=lambda: f"the kitchen's own track again\n{poller.output()}",
        )
        kitchen = _json(server, "/api/zones/kitchen")
        assert (kitchen["room"], kitchen["group"]) == ("kitchen", "kitchen")
        assert _title_of(server, "living-room") == "Next Shared Song"

    assert watcher.requests > 50
    assert watcher.failures == [], "a room's URL answered something else than 200/304 while it regrouped"


def test_bonded_speakers_are_never_rooms(
    household: Household, client: redis.Redis, pollers: PollerRunner, server: ArtworkServer, redis_url: str
):
    poller = pollers.start(household, ARTWORK_DIR=str(server.artwork_dir))
    wait_for_title(client, "kitchen", "Kitchen Song", poller, timeout_seconds=15)
    wait_for_title(client, "living-room", "Living Song", poller, timeout_seconds=15)
    wait_for(lambda: len(client.hgetall("sonos:rooms")) == 2, 10, what="the room map")

    assert client.hgetall("sonos:rooms") == {"living-room": "living-room", "kitchen": "kitchen"}
    assert client.smembers("sonos:zones") == {"living-room", "kitchen"}
    living = json.loads(client.hget("sonos:zone:living-room", "members") or "[]")
    assert [m["name"] for m in living] == ["Living Room"], "the sub and surrounds are not members"
    listing = _json(server, "/api/zones")
    assert [(r["id"], r["group"]) for r in listing["rooms"]] == [
        ("kitchen", "kitchen"),
        ("living-room", "living-room"),
    ]


def test_with_events_a_room_leaving_its_group_shows_its_own_music_again_within_moments(
    household: Household, client: redis.Redis, events_pollers: PollerRunner, server: ArtworkServer
):
    poller = events_pollers.start(household, ARTWORK_DIR=str(server.artwork_dir))
    wait_for_title(client, "kitchen", "Kitchen Song", poller, timeout_seconds=15)
    wait_for_title(client, "living-room", "Living Song", poller, timeout_seconds=15)
    seconds = []
    for round_number in range(4):
        household.group("living-room", ["kitchen"])
        wait_for(lambda: _title_of(server, "kitchen") == "Living Song", 5, what="the kitchen in the group")
        own = f"Kitchen Again {round_number}"
        household.ungroup("kitchen")
        started = time.monotonic()
        household.speaker("kitchen").set_track(track(own))
        wait_for(
            partial(_title_is, server, "kitchen", own),
            10,
            what=lambda: f"the kitchen's own track\n{poller.output()}",
        )
        seconds.append(time.monotonic() - started)

    # The topology events tell of it; the group check every 5 s alone would take 2.5 s on average.
    assert max(seconds) < 2.0, [f"{s:.2f}" for s in seconds]
