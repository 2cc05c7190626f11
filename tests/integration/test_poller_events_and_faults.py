"""Events, fallbacks and every fault fakesonos can throw: the poller stays up and never shows stale art."""

from __future__ import annotations

import io
import json
import time
from collections.abc import Callable
from pathlib import Path

import pytest
import redis
from PIL import Image

from fakesonos import Household
from fakesonos.covers import generated_cover
from fakesonos.faults import ArtFault, SpeakerFault
from fakesonos.model import Source, Track
from harness.net import free_port
from harness.poller import PollerRunner, heartbeat, track, wait_for_title, wait_for_zone
from harness.waiting import wait_for

pytestmark = pytest.mark.timeout(90)

ZONE = "living-room"
POLL_SECONDS = 1.0


@pytest.fixture
def household(fake_household: Callable[..., Household]) -> Household:
    household = fake_household("Living Room")
    household.speaker(ZONE).set_track(track("Opening Song"))
    return household


def wait_for_mode(client: redis.Redis, mode: str, timeout_seconds: float = 15) -> None:
    wait_for(
        lambda: (heartbeat(client) or {}).get("zones") == {ZONE: mode}, timeout_seconds, what=f"mode {mode}"
    )


def test_events_mode_subscribes_and_a_change_arrives_without_waiting_for_a_poll(
    household: Household, client: redis.Redis, pollers: PollerRunner
):
    poller = pollers.start(
        household, POLL_INTERVAL_SECONDS="30"
    )  # a poll would take 30 s: only events are fast
    wait_for_title(client, ZONE, "Opening Song", poller, timeout_seconds=15)
    wait_for_mode(client, "events")
    # One of each: its transport, and how rooms group (which tells of a room leaving the group).
    assert sorted(s.service for s in household.speaker(ZONE).subscriptions) == [
        "AVTransport",
        "ZoneGroupTopology",
    ]
    household.speaker(ZONE).set_track(track("Pushed By An Event"))
    wait_for_title(client, ZONE, "Pushed By An Event", poller, timeout_seconds=3)


def test_a_change_whose_event_the_network_lost_is_shown_at_the_next_verifying_read(
    household: Household, client: redis.Redis, pollers: PollerRunner
):
    speaker = household.speaker(ZONE)
    poll_seconds = 0.2  # a subscribed zone is read anyway every 15 poll intervals: 3 s here
    poller = pollers.start(household, POLL_INTERVAL_SECONDS=str(poll_seconds))
    wait_for_title(client, ZONE, "Opening Song", poller, timeout_seconds=15)
    wait_for_mode(client, "events")
    speaker.set_fault(SpeakerFault.EVENTS_LOST)

    speaker.set_track(track("Its Event Was Lost"))
    changed_at = time.monotonic()
    wait_for_title(client, ZONE, "Its Event Was Lost", poller, timeout_seconds=15 * poll_seconds + 2)

    assert time.monotonic() - changed_at < 15 * poll_seconds + 1
    assert (heartbeat(client) or {}).get("zones") == {ZONE: "events"}  # still subscribed: nothing failed


@pytest.mark.parametrize("down_seconds", [3.0, 0.3], ids=["long-reboot", "short-reboot"])
def test_speaker_reboot_is_resubscribed_and_correct_within_two_poll_intervals(
    household: Household, client: redis.Redis, pollers: PollerRunner, down_seconds: float
):
    speaker = household.speaker(ZONE)
    poller = pollers.start(household, POLL_INTERVAL_SECONDS=str(POLL_SECONDS))
    wait_for_mode(client, "events")
    speaker.reboot(down_seconds=down_seconds)
    time.sleep(down_seconds + 0.1)  # the speaker is back now; it has forgotten every subscription

    speaker.set_track(track("After The Reboot"))
    back_at = time.monotonic()
    wait_for_title(client, ZONE, "After The Reboot", poller, timeout_seconds=2 * POLL_SECONDS + 0.5)
    wait_for(
        lambda: speaker.subscriptions, 2 * POLL_SECONDS + 0.5, what=lambda: f"resubscribed\n{poller.output()}"
    )
    assert time.monotonic() - back_at < 2 * POLL_SECONDS + 0.5
    wait_for_mode(client, "events", timeout_seconds=3)


def test_speaker_with_upnp_disabled_is_reported_once_and_the_poller_keeps_running(
    household: Household, client: redis.Redis, pollers: PollerRunner
):
    speaker = household.speaker(ZONE)
    poller = pollers.start(household, POLL_INTERVAL_SECONDS="0.5")
    wait_for_title(client, ZONE, "Opening Song", poller, timeout_seconds=15)
    speaker.set_fault(SpeakerFault.UPNP_DISABLED)
    wait_for_mode(client, "polling", timeout_seconds=10)
    time.sleep(2)  # several more failing passes
    assert poller.output().count("zone living-room unavailable") == 1
    speaker.set_fault(None)
    speaker.set_track(track("UPnP Back On"))
    wait_for_title(client, ZONE, "UPnP Back On", poller, timeout_seconds=5)
    wait_for_mode(client, "events", timeout_seconds=5)


def test_a_hung_speaker_does_not_wedge_the_poller(
    household: Household, client: redis.Redis, pollers: PollerRunner
):
    speaker = household.speaker(ZONE)
    poller = pollers.start(household, POLL_INTERVAL_SECONDS="0.5", SPEAKER_TIMEOUT_SECONDS="1")
    wait_for_title(client, ZONE, "Opening Song", poller, timeout_seconds=15)
    speaker.set_fault(SpeakerFault.HANG)
    wait_for(lambda: "unavailable" in poller.output(), 10, what=poller.output)
    speaker.set_fault(None)
    speaker.set_track(track("Unstuck"))
    wait_for_title(client, ZONE, "Unstuck", poller, timeout_seconds=10)
    assert poller.process.poll() is None


def test_sigterm_in_events_mode_unsubscribes_and_exits_0_within_5_s(
    household: Household, client: redis.Redis, pollers: PollerRunner
):
    poller = pollers.start(household)
    wait_for_mode(client, "events")
    began = time.monotonic()
    assert poller.terminate() == 0
    assert time.monotonic() - began < 5
    assert household.speaker(ZONE).subscriptions == ()


BROKEN_ART = [
    ArtFault.NOT_FOUND,
    ArtFault.SERVER_ERROR,
    ArtFault.SLOW_DRIP,
    ArtFault.STALL,
    ArtFault.HUGE_BODY,
    ArtFault.HUGE_BODY_NO_LENGTH,
    ArtFault.BOMB,
    ArtFault.TRUNCATED_JPEG,
    ArtFault.NOT_AN_IMAGE,
    ArtFault.REDIRECT_LOOP,
]
USABLE_ART = [
    ArtFault.WRONG_CONTENT_TYPE,
    ArtFault.CMYK_JPEG,
    ArtFault.PALETTE_PNG,
    ArtFault.ALPHA_PNG,
    ArtFault.EXIF_ROTATED,
    ArtFault.PROGRESSIVE_JPEG,
    ArtFault.LARGE_3000,
]


def faulty(title: str, fault: ArtFault) -> Track:
    return Track(title, "Artist", "Album", cover=generated_cover(title), art_fault=fault)


@pytest.mark.parametrize("fault", BROKEN_ART, ids=str)
def test_broken_art_gives_a_placeholder_a_warning_and_the_poller_lives_on(
    household: Household, client: redis.Redis, pollers: PollerRunner, artwork_dir: Path, fault: ArtFault
):
    poller = pollers.start(
        household, ART_TIMEOUT_SECONDS="2", ART_MAX_BYTES="5000000", ART_MAX_PIXELS="40000000"
    )
    before = wait_for_title(client, ZONE, "Opening Song", poller, timeout_seconds=15)
    household.speaker(ZONE).set_track(faulty(f"Broken {fault}", fault))
    zone = wait_for_title(client, ZONE, f"Broken {fault}", poller, timeout_seconds=10)
    assert zone["art_hash"] == "", "a placeholder, not art"
    images = json.loads(zone["images"])
    assert images["square720"] != json.loads(before["images"])["square720"], "never the previous track's art"
    with Image.open(artwork_dir / images["square720"]) as image:
        assert image.size == (720, 720)
    assert "art rejected" in poller.output()
    assert poller.process.poll() is None


@pytest.mark.parametrize("fault", USABLE_ART, ids=str)
def test_unusual_but_valid_art_is_rendered_at_every_profile_size(
    household: Household, client: redis.Redis, pollers: PollerRunner, artwork_dir: Path, fault: ArtFault
):
    poller = pollers.start(household)
    household.speaker(ZONE).set_track(faulty(f"Odd {fault}", fault))
    zone = wait_for_title(client, ZONE, f"Odd {fault}", poller, timeout_seconds=15)
    assert zone["art_hash"] != ""
    sizes = {"square720": (720, 720), "bar320x960": (320, 960), "jpeg720": (720, 720)}
    for profile, path in json.loads(zone["images"]).items():
        with Image.open(io.BytesIO((artwork_dir / path).read_bytes())) as image:
            assert image.size == sizes[profile]


@pytest.mark.parametrize(
    "case",
    [
        (Source.STREAMING, "streaming", True),
        (Source.RADIO, "radio", True),
        (Source.LINE_IN, "line_in", False),
        (Source.TV, "tv", False),
        (Source.AIRPLAY, "airplay", True),
    ],
    ids=lambda case: case[1],
)
def test_each_source_is_classified_and_artless_sources_get_a_placeholder(
    household: Household, client: redis.Redis, pollers: PollerRunner, case: tuple[Source, str, bool]
):
    source, expected_source, has_art = case
    poller = pollers.start(household)
    wait_for_title(client, ZONE, "Opening Song", poller, timeout_seconds=15)
    household.speaker(ZONE).set_track(
        Track(
            "Source Test",
            "Artist",
            "Album",
            cover=generated_cover("Source Test"),
            source=source,
            station="Radio X",
        )
    )
    zone = wait_for_zone(
        client,
        ZONE,
        poller,
        timeout_seconds=10,
        condition=lambda z: z["source"] == expected_source,
        what=f"source {expected_source}",
    )
    assert (zone["art_hash"] != "") is has_art
    if source is Source.RADIO:
        assert zone["station"] == "Radio X"


def test_an_emptied_queue_shows_the_idle_placeholder(
    household: Household, client: redis.Redis, pollers: PollerRunner
):
    poller = pollers.start(household)
    wait_for_title(client, ZONE, "Opening Song", poller, timeout_seconds=15)
    household.speaker(ZONE).set_track(None)
    zone = wait_for_zone(
        client, ZONE, poller, timeout_seconds=10, condition=lambda z: z["source"] == "none", what="idle"
    )
    assert (zone["title"], zone["art_hash"]) == ("", "")


def test_listener_port_and_advertised_ip_are_what_speakers_call_back(
    household: Household, client: redis.Redis, pollers: PollerRunner
):
    port = free_port()
    pollers.start(household, EVENT_LISTENER_PORT=str(port), EVENT_ADVERTISE_IP="127.0.0.1")
    wait_for_mode(client, "events")
    subscriptions = household.speaker(ZONE).subscriptions
    assert len(subscriptions) == 2  # AVTransport and ZoneGroupTopology
    assert {s.callback_url.strip("<>") for s in subscriptions} == {f"http://127.0.0.1:{port}"}


def test_events_that_never_arrive_fall_back_to_polling_once_logged(
    household: Household, client: redis.Redis, pollers: PollerRunner
):
    # The speaker accepts the subscription but calls back an address where nobody listens,
    # as behind NAT or a firewall: the poller must notice the silence and poll.
    poller = pollers.start(household, EVENT_ADVERTISE_IP="127.0.0.254", POLL_INTERVAL_SECONDS="0.5")
    wait_for_title(client, ZONE, "Opening Song", poller, timeout_seconds=15)
    wait_for(lambda: "no event arrived" in poller.output(), 15, what=poller.output)
    wait_for_mode(client, "polling")
    household.speaker(ZONE).set_track(track("Found By Polling"))
    wait_for_title(client, ZONE, "Found By Polling", poller, timeout_seconds=3)
    assert poller.output().count("no events (") == 1
