"""Zones are read and rendered side by side: one slow speaker or cover never holds up another zone."""

from __future__ import annotations

import json
import time
from collections import defaultdict
from collections.abc import Callable

import psutil
import pytest
import redis

from fakesonos import Household
from fakesonos.covers import generated_cover
from fakesonos.faults import ArtFault, SpeakerFault
from fakesonos.model import Track
from harness.poller import PollerRunner, heartbeat, stream_entries, track, wait_for_title, zone_hash
from harness.waiting import wait_for

pytestmark = pytest.mark.timeout(120)

# Far longer than a change takes to publish, so waiting on the slow zone would show.
SLOW_SECONDS = 8
PROMPT_SECONDS = 2.0


def wait_for_events_mode(client: redis.Redis, zones: int) -> None:
    """Until every zone is subscribed, so a change is read at once rather than at the next poll."""
    wait_for(
        lambda: list((heartbeat(client) or {}).get("zones", {}).values()) == ["events"] * zones,
        15,
        what="every zone in events mode",
    )


def test_a_slow_cover_download_in_one_zone_does_not_delay_another_zone(
    fake_household: Callable[..., Household], client: redis.Redis, pollers: PollerRunner
):
    household = fake_household("Living Room", "Kitchen")
    household.speaker("living-room").set_track(track("Living Before"))
    household.speaker("kitchen").set_track(track("Kitchen Before"))
    poller = pollers.start(household, ART_TIMEOUT_SECONDS=str(SLOW_SECONDS), POLL_INTERVAL_SECONDS="5")
    wait_for_title(client, "kitchen", "Kitchen Before", poller, timeout_seconds=15)
    wait_for_events_mode(client, 2)

    # A few bytes every half second: the download runs until ART_TIMEOUT_SECONDS gives up on it.
    slow = Track("Slow Cover", "Artist", "Album", cover=generated_cover("x"), art_fault=ArtFault.SLOW_DRIP)
    household.speaker("living-room").set_track(slow)
    time.sleep(0.5)  # the living room's download has started
    changed_at = time.monotonic()
    household.speaker("kitchen").set_track(track("Kitchen After"))

    wait_for_title(client, "kitchen", "Kitchen After", poller, timeout_seconds=PROMPT_SECONDS)
    assert time.monotonic() - changed_at < PROMPT_SECONDS
    assert zone_hash(client, "living-room")["title"] == "Living Before", "the slow zone is still downloading"
    living = wait_for_title(client, "living-room", "Slow Cover", poller, timeout_seconds=SLOW_SECONDS + 5)
    assert living["art_hash"] == "", "a placeholder once the download gave up"


def test_a_hung_speaker_does_not_delay_changes_in_other_zones(
    fake_household: Callable[..., Household], client: redis.Redis, pollers: PollerRunner
):
    household = fake_household("Living Room", "Kitchen")
    household.speaker("kitchen").set_track(track("Kitchen 0"))
    # Short polls: the poller keeps calling the hung speaker, each call waiting SLOW_SECONDS.
    poller = pollers.start(household, SPEAKER_TIMEOUT_SECONDS=str(SLOW_SECONDS), POLL_INTERVAL_SECONDS="0.5")
    wait_for_title(client, "kitchen", "Kitchen 0", poller, timeout_seconds=15)
    wait_for_events_mode(client, 2)

    household.speaker("living-room").set_fault(SpeakerFault.HANG)
    household.speaker("living-room").set_track(track("Never Answered"))  # an event, then a hung read
    for n in range(1, 5):
        time.sleep(0.5)
        changed_at = time.monotonic()
        household.speaker("kitchen").set_track(track(f"Kitchen {n}"))
        wait_for_title(client, "kitchen", f"Kitchen {n}", poller, timeout_seconds=PROMPT_SECONDS)
        assert time.monotonic() - changed_at < PROMPT_SECONDS
    household.speaker("living-room").set_fault(None)
    wait_for_title(client, "living-room", "Never Answered", poller, timeout_seconds=SLOW_SECONDS + 5)


def test_a_burst_across_many_zones_ends_on_each_zones_latest_track_in_version_order(
    fake_household: Callable[..., Household], client: redis.Redis, pollers: PollerRunner
):
    rooms = [f"Room {n}" for n in range(8)]
    household = fake_household(*rooms)
    speakers = [household.speaker(f"room-{n}") for n in range(8)]
    for speaker in speakers:
        speaker.set_track(track("Start", cover=False))
    poller = pollers.start(household, ZONE_WORKERS="3")
    for speaker in speakers:
        wait_for_title(client, speaker.zone_id, "Start", poller, timeout_seconds=15)
    wait_for_events_mode(client, len(speakers))
    threads_before = psutil.Process(poller.process.pid).num_threads()

    for change in range(10):
        for speaker in speakers:
            speaker.set_track(track(f"{speaker.zone_id} take {change}"))
    for speaker in speakers:
        wait_for_title(client, speaker.zone_id, f"{speaker.zone_id} take 9", poller, timeout_seconds=20)

    versions: dict[str, list[int]] = defaultdict(list)
    for _id, entry in stream_entries(client):
        versions[entry["zone"]].append(int(entry["version"]))
    for zone, seen in versions.items():
        assert seen == sorted(set(seen)), f"{zone}: versions must only grow"
    for speaker in speakers:
        images = json.loads(zone_hash(client, speaker.zone_id)["images"])
        assert set(images) == {"square720", "bar320x960", "jpeg720"}
    # A fixed set of zone workers: a burst over eight zones starts no thread.
    assert psutil.Process(poller.process.pid).num_threads() <= threads_before


def test_a_first_seed_that_hangs_after_a_restart_does_not_hold_up_the_other_zones(
    fake_household: Callable[..., Household], client: redis.Redis, pollers: PollerRunner
):
    # Found by the chaos campaign: the poller restarted while the first seed speaker rebooted, the
    # speaker then hung, and the other rooms' changes waited or were never shown.
    household = fake_household("Living Room", "Kitchen", "Office")
    for room in ("kitchen", "office"):
        household.speaker(room).set_track(track(f"{room} 0"))
    household.speaker("living-room").set_fault(SpeakerFault.OFFLINE)
    poller = pollers.start(household, SPEAKER_TIMEOUT_SECONDS="3", POLL_INTERVAL_SECONDS="2")
    wait_for_title(client, "kitchen", "kitchen 0", poller, timeout_seconds=15)

    household.speaker("living-room").set_fault(SpeakerFault.HANG)
    for n in range(1, 6):
        time.sleep(1)
        changed_at = time.monotonic()
        household.speaker("kitchen").set_track(track(f"kitchen {n}"))
        wait_for_title(client, "kitchen", f"kitchen {n}", poller, timeout_seconds=5)
        assert time.monotonic() - changed_at < PROMPT_SECONDS, f"change {n}"
    household.speaker("living-room").set_fault(None)
