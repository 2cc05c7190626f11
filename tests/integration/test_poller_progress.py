"""Progress: a seek in the household reaches Redis as an event, and a quiet zone costs the speaker nothing."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest
import redis
import soco
from soco.exceptions import SoCoUPnPException

from fakesonos import Household
from fakesonos.model import Source, Track
from harness.poller import PollerRunner, track, wait_for_title, zone_hash
from harness.waiting import wait_for

pytestmark = pytest.mark.timeout(90)

ZONE = "living-room"
# What one read of a zone asks its coordinator (soco's track, transport and media info).
READ_ACTIONS = ("GetPositionInfo", "GetTransportInfo", "GetMediaInfo")


@pytest.fixture
def household(fake_household: Callable[..., Household]) -> Household:
    household = fake_household("Living Room")
    household.speaker(ZONE).set_track(track("Long Song"))  # 210 s long
    return household


def reads(household: Household) -> dict[str, int]:
    served = household.speaker(ZONE).actions_served()
    return {name: served.get(name, 0) for name in READ_ACTIONS}


def test_soco_seek_moves_the_fake_speaker_and_a_bad_target_is_upnp_error_711(household: Household):
    speaker = soco.SoCo(household.speaker(ZONE).ip)
    speaker.seek("0:02:00")
    assert 120 <= household.speaker(ZONE).view().position_seconds <= 121
    assert speaker.get_current_track_info()["position"] in ("0:02:00", "0:02:01")
    with pytest.raises(SoCoUPnPException) as err:
        speaker.avTransport.Seek([("InstanceID", 0), ("Unit", "TRACK_NR"), ("Target", "2")])
    assert err.value.error_code == "711"


def test_a_seek_arrives_as_an_event_and_the_published_position_jumps_without_new_art(
    household: Household, client: redis.Redis, pollers: PollerRunner
):
    # A poll would take 30 s: only the seek's event can bring the new position this fast.
    poller = pollers.start(household, POLL_INTERVAL_SECONDS="30")
    wait_for_title(client, ZONE, "Long Song", poller, timeout_seconds=15)
    before = zone_hash(client, ZONE)
    assert before["duration_seconds"] == "210"
    assert int(before["position_seconds"]) < 10

    soco.SoCo(household.speaker(ZONE).ip).seek("0:02:30")

    def seek_published() -> dict[str, str] | None:
        published = zone_hash(client, ZONE)
        return published if int(published["position_seconds"]) >= 150 else None

    after = wait_for(seek_published, 5, what=lambda: f"the seek published\n{poller.output()}")
    assert int(after["position_seconds"]) <= 153
    assert abs(int(after["position_at"]) - time.time() * 1000) < 5000
    assert int(after["version"]) > int(before["version"])
    assert after["art_hash"] == before["art_hash"]  # a state change: the same renditions


def test_a_quiet_zone_is_not_asked_for_its_position_and_a_seek_costs_one_read(
    household: Household, client: redis.Redis, pollers: PollerRunner
):
    poller = pollers.start(household, POLL_INTERVAL_SECONDS="1")
    wait_for_title(client, ZONE, "Long Song", poller, timeout_seconds=15)
    wait_for(lambda: zone_hash(client, ZONE).get("version"), 5, what="published")
    time.sleep(1.5)  # the first reads and the subscription settle
    settled = reads(household)

    time.sleep(4)  # four poll intervals, with the track playing on
    assert reads(household) == settled, "the poller read a zone that did not change"

    household.speaker(ZONE).seek(60)
    wait_for(lambda: int(zone_hash(client, ZONE)["position_seconds"]) >= 60, 5, what=poller.output)
    time.sleep(1.0)
    assert reads(household) == {name: count + 1 for name, count in settled.items()}


def test_radio_and_line_in_publish_no_length_so_displays_draw_no_bar(
    household: Household, client: redis.Redis, pollers: PollerRunner
):
    speaker = household.speaker(ZONE)
    speaker.set_track(Track("Morning Show", source=Source.RADIO, station="Radio One"))
    poller = pollers.start(household)
    wait_for(lambda: zone_hash(client, ZONE).get("source") == "radio", 15, what=poller.output)
    assert zone_hash(client, ZONE)["duration_seconds"] == "0"
    speaker.set_track(Track("", source=Source.LINE_IN))
    wait_for(lambda: zone_hash(client, ZONE).get("source") == "line_in", 5, what=poller.output)
    assert (zone_hash(client, ZONE)["duration_seconds"], zone_hash(client, ZONE)["position_seconds"]) == (
        "0",
        "0",
    )
