"""Each worker's copy of the zones: exact while it follows the change channel, Redis when it does not.

Real redis-server, the poller's own publisher, the artwork service's own `CachedZones`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import redis

from artwork.config import Settings
from artwork.zone_cache import CachedZones
from artwork.zones import NowPlayingUnavailable
from contract.redis_keys import RESYNC_MESSAGE, RedisKeys
from harness.gunicorn import make_zone, seed_raw_zone, seed_zone
from harness.redis_server import RedisServer
from harness.waiting import wait_for
from poller.publisher import RedisPublisher

KEYS = RedisKeys("sonos")
pytestmark = pytest.mark.timeout(30)


@pytest.fixture
def raw(redis_url: str) -> Iterator[redis.Redis]:
    """A plain client of the test's Redis, for what the poller would never do."""
    client = redis.Redis.from_url(redis_url, decode_responses=True, socket_timeout=2, retry=None)
    yield client
    client.close()


@pytest.fixture
def make_cache(redis_url: str, tmp_path: Path) -> Iterator[Callable[..., CachedZones]]:
    """`make_cache(start=True, **options)`: a cache of the test's Redis; every one is closed afterwards."""
    made: list[CachedZones] = []

    def make(*, start: bool = True, **options: Any) -> CachedZones:
        settings = Settings(redis_url=redis_url, artwork_dir=tmp_path)
        cache = CachedZones.from_settings(settings, **options)
        made.append(cache)
        if start:
            cache.start()
            wait_for(lambda: cache.following, 10, what="the cache to follow the change channel")
        return cache

    yield make
    for cache in made:
        cache.close()


def commands_served(client: redis.Redis) -> int:
    """Commands Redis has processed so far, this one excluded."""
    return int(client.info("stats")["total_commands_processed"])


def test_until_it_follows_every_read_goes_to_redis(make_cache, redis_url: str):
    seed_zone(redis_url, make_zone("den", title="So What"))
    cache = make_cache(start=False)

    zone = cache.get("den")

    assert not cache.following
    assert zone is not None
    assert zone.title == "So What"


def test_once_following_reads_are_answered_without_asking_redis(make_cache, redis_url: str, raw):
    seed_zone(redis_url, make_zone("den"))
    seed_zone(redis_url, make_zone("kitchen"))
    cache = make_cache()
    before = commands_served(raw)

    for _ in range(200):
        assert cache.get("den") is not None
        assert [z.zone_id for z in cache.list()] == ["den", "kitchen"]
        assert cache.ids() == ("den", "kitchen")
        assert cache.get("attic") is None

    # The first INFO itself, and perhaps the background thread's health-check PING: nothing else.
    assert commands_served(raw) - before <= 2


def test_a_published_change_is_seen_by_the_very_next_read(make_cache, redis_url: str):
    cache = make_cache()

    for version in range(1, 51):
        seed_zone(redis_url, make_zone("den", title=f"Track {version}", version=version))
        zone = cache.get("den")
        assert zone is not None
        assert (zone.version, zone.title) == (version, f"Track {version}")


def test_the_copy_for_the_event_loop_is_given_only_when_it_is_current_without_waiting(
    make_cache, redis_url: str
):
    seed_zone(redis_url, make_zone("den", title="So What", version=1))
    not_following = make_cache(start=False)
    cache = make_cache()
    cache.get("den")
    idle = cache.copy()
    with cache._lock:  # a reader is catching the copy up: the event loop must not wait for it
        while_catching_up = cache.copy()
    seed_zone(redis_url, make_zone("den", title="Freddie Freeloader", version=2))
    cache.get("den")
    after_a_change = cache.copy()

    assert not_following.copy() is None
    assert idle is not None
    assert idle.zones["den"].title == "So What"
    assert while_catching_up is None
    assert after_a_change is not None
    assert after_a_change.zones["den"].title == "Freddie Freeloader"


def test_a_new_zone_appears_and_a_removed_zone_disappears_on_the_next_read(make_cache, redis_url: str, raw):
    cache = make_cache()

    seed_zone(redis_url, make_zone("study"))
    assert cache.ids() == ("study",)

    RedisPublisher(raw, KEYS).remove("study")
    assert cache.get("study") is None
    assert cache.list() == []


def test_a_malformed_zone_is_unavailable_alone_and_left_out_of_the_list(make_cache, redis_url: str):
    seed_zone(redis_url, make_zone("den"))
    cache = make_cache()

    seed_raw_zone(redis_url, "broken", {"name": "Broken", "state": "DANCING"})

    assert [z.zone_id for z in cache.list()] == ["den"]
    with pytest.raises(NowPlayingUnavailable, match="malformed"):
        cache.get("broken")


@pytest.mark.parametrize("message", [RESYNC_MESSAGE, "not json"])
def test_a_message_naming_no_zone_makes_it_read_every_zone_again(
    make_cache, redis_url: str, raw, message: str
):
    seed_zone(redis_url, make_zone("den", title="Old"))
    seed_zone(redis_url, make_zone("kitchen"))
    cache = make_cache()
    raw.hset(KEYS.zone("den"), "title", "Written without a message")
    raw.delete(KEYS.zone("kitchen"))

    with raw.pipeline(transaction=True) as announce:  # as the poller does: see zone_cache.py
        announce.publish(KEYS.changes, message)
        announce.execute()

    zone = cache.get("den")
    assert zone is not None
    assert zone.title == "Written without a message"
    assert cache.ids() == ("den",)


def test_an_edit_that_published_nothing_is_picked_up_by_the_periodic_reread(make_cache, redis_url: str, raw):
    seed_zone(redis_url, make_zone("den", title="Old"))
    cache = make_cache(catch_up_seconds=0.05, resync_seconds=0.3)

    raw.hset(KEYS.zone("den"), "title", "Edited in redis-cli")

    wait_for(lambda: (z := cache.get("den")) is not None and z.title == "Edited in redis-cli", 5)


def test_a_dropped_subscription_falls_back_to_redis_and_never_serves_what_it_missed(
    make_cache, redis_url: str, raw, caplog: pytest.LogCaptureFixture
):
    seed_zone(redis_url, make_zone("den", title="Before"))
    cache = make_cache()

    with caplog.at_level(logging.INFO, logger="artwork.zone_cache"):
        assert raw.client_kill_filter(_type="pubsub") == 1
        # Published into the gap: no subscriber hears it, so the copy must not be trusted.
        raw.hset(KEYS.zone("den"), "title", "During the gap")
        zone = cache.get("den")
        assert zone is not None
        assert zone.title == "During the gap"

        wait_for(lambda: cache.following, 10, what="the cache to follow again")
        seed_zone(redis_url, make_zone("den", title="After", version=9))
        zone = cache.get("den")
        assert zone is not None
        assert zone.title == "After"

    messages = [r.getMessage() for r in caplog.records if r.name == "artwork.zone_cache"]
    assert len([m for m in messages if "not following" in m]) == 1
    assert len([m for m in messages if "following sonos:changes again" in m]) == 1


def test_while_redis_is_away_or_back_empty_the_zones_last_known_are_served_until_the_poller_writes(
    make_cache, redis_server: RedisServer, redis_url: str, raw, caplog: pytest.LogCaptureFixture
):
    seed_zone(redis_url, make_zone("den", title="So What"))
    cache = make_cache(catch_up_seconds=0.05)
    never_followed = make_cache(start=False)
    seen: list[tuple[bool, str | None, list[str]]] = []

    with caplog.at_level(logging.INFO, logger="artwork.zone_cache"):
        redis_server.stop()
        for _ in range(5):
            den = cache.get("den")
            seen.append((cache.following, den.title if den else None, [z.zone_id for z in cache.list()]))
        with pytest.raises(NowPlayingUnavailable):
            never_followed.get("den")  # it knows nothing to serve
        redis_server.start()  # empty, as after a restart: nothing is kept on disk
        wait_for(lambda: cache.following, 15, what="the cache to follow the restarted Redis")
        # Empty, and the poller has not written to it yet: still the zones last known.
        empty_yet = cache.get("den")
        raw.set(KEYS.poller, "{}")  # the poller's heartbeat, then its zones, as it re-asserts them
        seed_zone(redis_url, make_zone("den", title="Freddie Freeloader", version=12))
        wait_for(lambda: cache.get("den").version == 12, 5, what="the re-asserted zone")
        wait_for(
            lambda: any("Redis answers again" in r.getMessage() for r in caplog.records), 5, what="the log"
        )

    assert seen == [(False, "So What", ["den"])] * 5
    assert empty_yet is not None
    assert empty_yet.title == "So What"
    assert cache.get("den").title == "Freddie Freeloader"
    messages = [r.getMessage() for r in caplog.records if r.name == "artwork.zone_cache"]
    assert len([m for m in messages if "not following" in m]) == 1
    assert len([m for m in messages if "serving the zones as last known" in m]) == 1
    assert len([m for m in messages if "Redis answers again" in m]) == 1


def test_once_redis_answers_a_read_the_zones_last_known_before_are_never_served_again(
    make_cache, redis_server: RedisServer, redis_url: str, raw
):
    # Redis comes back and says something newer; when it goes away again before the copy follows
    # anew, the old copy is older than what Redis last said, and must not come back.
    seed_zone(redis_url, make_zone("den", title="Before"))
    cache = make_cache()

    def title() -> str:
        try:
            zone = cache.get("den")
        except NowPlayingUnavailable:
            return "unavailable"
        return zone.title if zone else "unknown"

    redis_server.stop()
    try:
        assert title() == "Before"
    finally:
        redis_server.start()
    raw.set(KEYS.poller, "{}")
    seed_zone(redis_url, make_zone("den", title="After", version=9))
    wait_for(lambda: title() == "After", 5, what="what the poller wrote")
    redis_server.stop()
    try:
        again = title()
    finally:
        redis_server.start()

    # Unavailable, or "After" should the copy have followed the restarted Redis in between.
    assert again in ("unavailable", "After")


def test_it_reports_when_it_follows_and_when_it_stops(make_cache, raw):
    reported: list[bool] = []
    cache = make_cache(on_following=reported.append)

    raw.client_kill_filter(_type="pubsub")
    wait_for(lambda: reported == [True, False, True], 10, what=lambda: f"reports, got {reported}")
    cache.close()

    assert reported == [True, False, True, False]


def test_close_unsubscribes_and_stops_the_background_thread(make_cache, raw):
    cache = make_cache()
    assert raw.pubsub_numsub(KEYS.changes) == [(KEYS.changes, 1)]

    cache.close()

    assert raw.pubsub_numsub(KEYS.changes) == [(KEYS.changes, 0)]
    assert not cache.following


@pytest.mark.parametrize("following", [True, False], ids=["from the copy", "from redis"])
def test_a_room_resolves_to_its_group_at_once_when_the_poller_moves_it(
    make_cache, redis_url: str, raw, following: bool
):
    publisher = RedisPublisher(raw, KEYS)
    seed_zone(redis_url, make_zone("living-room", title="Shared Song"))
    seed_zone(redis_url, make_zone("kitchen", title="Kitchen Song"))
    publisher.publish_rooms({"living-room": "living-room", "kitchen": "kitchen"})
    cache = make_cache(start=following)
    assert cache.get("kitchen").title == "Kitchen Song"

    publisher.publish_rooms({"living-room": "living-room", "kitchen": "living-room"})

    kitchen = cache.get("kitchen")
    assert (kitchen.zone_id, kitchen.title) == ("living-room", "Shared Song")
    assert cache.rooms() == {"living-room": "living-room", "kitchen": "living-room"}
    assert cache.get("office") is None
