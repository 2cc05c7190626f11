"""The poller keeps zones, load and the artwork volume in bounds (real process, fakesonos, redis)."""

from __future__ import annotations

import json
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import redis

from contract.profiles import parse_profiles
from fakesonos import Household
from fakesonos.covers import generated_cover
from fakesonos.model import Track
from harness.poller import PollerRunner, heartbeat, stream_entries, track, wait_for_title, wait_for_zone
from harness.waiting import wait_for
from poller.app import build_poller
from poller.config import Settings, SpeakerAddress

pytestmark = pytest.mark.timeout(90)


def test_grouping_removes_the_member_zone_and_updates_the_coordinator(
    fake_household: Callable[..., Household], client: redis.Redis, pollers: PollerRunner
):
    household = fake_household("Living Room", "Kitchen")
    household.speaker("living-room").set_track(track("Shared Song"))
    household.speaker("kitchen").set_track(track("Kitchen Song"))
    poller = pollers.start(household, DISCOVERY_INTERVAL_SECONDS="1")
    wait_for_title(client, "kitchen", "Kitchen Song", poller, timeout_seconds=15)
    wait_for_title(client, "living-room", "Shared Song", poller, timeout_seconds=15)

    household.group("living-room", ["kitchen"])

    # soco caches the topology for 5 s, so a regroup is seen within about two discovery passes of that.
    wait_for(
        lambda: not client.exists("sonos:zone:kitchen"),
        20,
        what=lambda: f"kitchen removed\n{poller.output()}",
    )
    assert client.smembers("sonos:zones") == {"living-room"}
    living = wait_for_zone(
        client,
        "living-room",
        poller,
        timeout_seconds=10,
        condition=lambda z: len(json.loads(z["members"])) == 2,
        what="both speakers in living-room",
    )
    assert {m["name"] for m in json.loads(living["members"])} == {"Living Room", "Kitchen"}
    types = [(e["type"], e["zone"]) for _, e in stream_entries(client)]
    assert ("zone_removed", "kitchen") in types
    assert types[-1] == ("state", "living-room")

    household.ungroup("kitchen")
    wait_for(lambda: client.exists("sonos:zone:kitchen"), 20, what=lambda: f"kitchen back\n{poller.output()}")
    assert ("zone_added", "kitchen") in [(e["type"], e["zone"]) for _, e in stream_entries(client)][
        len(types) :
    ]


def test_zone_allow_list_publishes_only_the_listed_zones(
    fake_household: Callable[..., Household], client: redis.Redis, pollers: PollerRunner
):
    household = fake_household("Living Room", "Kitchen")
    household.speaker("kitchen").set_track(track("Kitchen Song"))
    poller = pollers.start(household, SONOS_ZONES="Kitchen")
    wait_for_title(client, "kitchen", "Kitchen Song", poller, timeout_seconds=15)
    assert client.smembers("sonos:zones") == {"kitchen"}


def test_one_seed_speaker_finds_every_zone_of_its_household(
    fake_household: Callable[..., Household], client: redis.Redis, pollers: PollerRunner
):
    household = fake_household("Living Room", "Kitchen", "Office")
    seed = household.speaker("office").ip
    poller = pollers.start(household, SONOS_SPEAKERS=seed)
    wait_for(lambda: client.scard("sonos:zones") == 3, 15, what=lambda: f"three zones\n{poller.output()}")


def test_overload_is_logged_and_load_is_sampled_per_interval_not_per_loop(
    fake_household: Callable[..., Household], client: redis.Redis, pollers: PollerRunner
):
    household = fake_household("Living Room")
    poller = pollers.start(
        household,
        POLL_INTERVAL_SECONDS="0.2",
        MEMORY_THRESHOLD_PERCENT="1",  # any machine uses more than 1 % of its memory: overloaded
        RESOURCE_CHECK_INTERVAL_SECONDS="30",
    )
    wait_for(lambda: "overloaded" in poller.output(), 10, what=poller.output)
    # Many passes later (0.2 s each, stretched while overloaded) load has still been sampled once.
    wait_for(lambda: (heartbeat(client) or {}).get("overloaded"), 10, what="an overloaded heartbeat")
    time.sleep(2)  # many more passes
    beat = heartbeat(client) or {}
    assert beat["overloaded"] is True
    assert beat["load_samples"] == 1, "psutil/cgroup sampled once per RESOURCE_CHECK_INTERVAL_SECONDS"


def test_a_track_change_put_off_while_overloaded_is_still_published_to_a_subscribed_zone(
    fake_household: Callable[..., Household], client: redis.Redis, pollers: PollerRunner
):
    household = fake_household("Living Room")
    household.speaker("living-room").set_track(track("Before The Load"))
    poller = pollers.start(
        household,
        POLL_INTERVAL_SECONDS="0.2",
        MEMORY_THRESHOLD_PERCENT="1",  # overloaded from the first sample: track renders are put off
    )
    wait_for_title(client, "living-room", "Before The Load", poller, timeout_seconds=15)
    wait_for(lambda: (heartbeat(client) or {}).get("mode") == "events", 15, what="events mode")
    # One NOTIFY arrives for the change; the reads that follow it must come from the poller itself.
    household.speaker("living-room").set_track(track("Put Off"))
    wait_for_title(client, "living-room", "Put Off", poller, timeout_seconds=15)
    assert (heartbeat(client) or {})["counters"]["deferred_renders"] >= 1


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A real 4 MiB file system for the artwork volume (a tmpfs; needs root, as in CI)."""
    mount_point = tmp_path / "small-disk"
    mount_point.mkdir()
    result = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(mount_point)], capture_output=True, check=False
    )
    if result.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here (needs root): {result.stderr.decode().strip()}")
    yield mount_point
    subprocess.run(["umount", "-l", str(mount_point)], check=False)


def test_full_disk_keeps_the_last_good_state_and_recovers_when_space_returns(
    fake_household: Callable[..., Household],
    client: redis.Redis,
    redis_url: str,
    small_disk: Path,
    tmp_path: Path,
):
    household = fake_household("Living Room")
    household.speaker("living-room").set_track(track("Before The Disk Filled"))
    runner = PollerRunner(redis_url, small_disk, tmp_path)
    try:
        poller = runner.start(household)
        wait_for_title(client, "living-room", "Before The Disk Filled", poller, timeout_seconds=15)
        filler = small_disk / "filler"
        with filler.open("wb") as out, pytest.raises(OSError, match="No space left"):
            out.write(b"\0" * (8 * 1024 * 1024))

        household.speaker("living-room").set_track(track("After The Disk Filled"))
        wait_for(lambda: "cannot store artwork" in poller.output(), 10, what=poller.output)
        assert client.hget("sonos:zone:living-room", "title") == "Before The Disk Filled"
        assert poller.process.poll() is None

        filler.unlink()
        zone = wait_for_title(client, "living-room", "After The Disk Filled", poller, timeout_seconds=10)
        for relpath in json.loads(zone["images"]).values():
            assert (small_disk / relpath).stat().st_size > 0
        assert list((small_disk / "tmp").iterdir()) == [], "no temp file is left behind by failed writes"
    finally:
        runner.close()


def test_a_thousand_changes_leave_no_temp_file_and_the_cache_under_its_bound(
    fake_household: Callable[..., Household], redis_url: str, artwork_dir: Path, tmp_path: Path
):
    household = fake_household("Living Room")
    speaker = household.speaker("living-room")
    settings = Settings(
        redis_url=redis_url,
        artwork_dir=artwork_dir,
        sonos_speakers=(SpeakerAddress(speaker.ip),),
        profiles=parse_profiles("thumb=200x200.png,small=96x96.bmp"),
        cache_max_mb=1,
        heartbeat_file=tmp_path / "heartbeat",
        sonos_events=False,  # each tick() must read the speaker: polling, driven by the test,
        poll_interval_seconds=0.0,  # with every zone due on every tick,
        cpu_threshold_percent=100,  # and no load guard deferring renders while this test runs hot
        memory_threshold_percent=100,
    )
    poller, redis_client = build_poller(settings, threading.Event())
    poller.housekeeping_interval_seconds = 0  # every pass, to exercise eviction on each change
    try:
        for n in range(1000):
            speaker.set_track(
                Track(f"Song {n}", "Artist", "Album", cover=generated_cover(f"{n}", size_pixels=96))
            )
            poller.tick()  # hands the zone to a worker, then sweeps while it renders
            assert poller.drain(10)
        poller.tick()  # a last sweep, after the last change was written
        assert poller.drain(10)
        assert poller.counters.changes == 1000
        assert poller.counters.renditions_evicted > 0
        assert list((artwork_dir / "tmp").iterdir()) == []
        stored_bytes = sum(p.stat().st_size for p in (artwork_dir / "art").rglob("*") if p.is_file())
        assert stored_bytes <= 1024 * 1024
        assert all((artwork_dir / path).is_file() for path in poller.referenced_images())
    finally:
        poller.close()
        redis_client.close()


def test_a_burst_of_changes_between_timed_sweeps_still_keeps_the_cache_near_its_bound(
    fake_household: Callable[..., Household], redis_url: str, artwork_dir: Path, tmp_path: Path
):
    household = fake_household("Living Room")
    speaker = household.speaker("living-room")
    settings = Settings(
        redis_url=redis_url,
        artwork_dir=artwork_dir,
        sonos_speakers=(SpeakerAddress(speaker.ip),),
        profiles=parse_profiles("sq=400x400.bmp"),  # 161 KB a change: 13 changes pass the 1 MB bound
        cache_max_mb=1,
        heartbeat_file=tmp_path / "heartbeat",
        sonos_events=False,
        poll_interval_seconds=0.0,
        cpu_threshold_percent=100,
        memory_threshold_percent=100,
    )
    poller, redis_client = build_poller(settings, threading.Event())
    assert poller.housekeeping_interval_seconds == 60  # the timed sweep alone would come too late
    try:
        poller.tick()  # the first pass sweeps once, as at every start
        assert poller.drain(10)
        for n in range(40):
            cover = generated_cover(f"{n}", size_pixels=64)
            speaker.set_track(Track(f"Song {n}", "Artist", "Album", cover=cover))
            poller.tick()
            assert poller.drain(10)
        stored_bytes = sum(p.stat().st_size for p in (artwork_dir / "art").rglob("*") if p.is_file())
        # A sweep runs once a tenth of the bound was written, so the cache passes it by less than that.
        assert poller.counters.renditions_evicted >= 25
        assert stored_bytes <= 1.1 * 1024 * 1024
    finally:
        poller.close()
        redis_client.close()


def test_qualia_mount_gets_the_default_zones_square_image(
    fake_household: Callable[..., Household],
    client: redis.Redis,
    pollers: PollerRunner,
    artwork_dir: Path,
    tmp_path: Path,
):
    household = fake_household("Living Room", "Kitchen")
    household.speaker("kitchen").set_track(track("For The Qualia"))
    circuitpy = tmp_path / "CIRCUITPY"
    circuitpy.mkdir()
    poller = pollers.start(household, QUALIA_MOUNT=str(circuitpy), DEFAULT_ZONE="kitchen")
    zone = wait_for_title(client, "kitchen", "For The Qualia", poller, timeout_seconds=15)
    square = (artwork_dir / json.loads(zone["images"])["square720"]).read_bytes()
    wait_for((circuitpy / "artwork.bmp").exists, 5, what=poller.output)
    assert (circuitpy / "artwork.bmp").read_bytes() == square
    assert [p.name for p in circuitpy.iterdir()] == ["artwork.bmp"], "no temp file left on the drive"


@pytest.fixture
def tiny_drive(tmp_path: Path) -> Iterator[Path]:
    """A real 64 KiB file system: too small for a 720x720 BMP."""
    mount_point = tmp_path / "CIRCUITPY"
    mount_point.mkdir()
    result = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(mount_point)],
        capture_output=True,
        check=False,
    )
    if result.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here (needs root): {result.stderr.decode().strip()}")
    yield mount_point
    subprocess.run(["umount", "-l", str(mount_point)], check=False)


def test_qualia_mount_without_space_is_skipped_with_one_warning(
    fake_household: Callable[..., Household], client: redis.Redis, pollers: PollerRunner, tiny_drive: Path
):
    household = fake_household("Living Room")
    household.speaker("living-room").set_track(track("First"))
    poller = pollers.start(household, QUALIA_MOUNT=str(tiny_drive))
    wait_for_title(client, "living-room", "First", poller, timeout_seconds=15)
    household.speaker("living-room").set_track(track("Second"))
    wait_for_title(client, "living-room", "Second", poller, timeout_seconds=5)
    assert poller.output().count("QUALIA_MOUNT") == 1
    assert "bytes free" in poller.output()
    assert list(tiny_drive.iterdir()) == []


def test_without_seed_speakers_zones_are_found_by_ssdp_and_the_household_pin_holds(
    ssdp_household: tuple[Household, object, str], client: redis.Redis, pollers: PollerRunner
):
    household, _responder, _interface = ssdp_household
    household.speaker("kitchen").set_track(track("Discovered"))
    # Other workers' households answer on UDP 1900 too: the pin keeps only this test's household.
    poller = pollers.start(household, SONOS_SPEAKERS="", SONOS_HOUSEHOLD=household.household_id)
    wait_for_title(client, "kitchen", "Discovered", poller, timeout_seconds=20)
    wait_for(lambda: client.smembers("sonos:zones") == {"living-room", "kitchen"}, 5, what=poller.output)
