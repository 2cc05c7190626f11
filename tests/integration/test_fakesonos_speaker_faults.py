"""Speaker faults surface as the errors soco raises for a real speaker in the same trouble."""

from __future__ import annotations

import time

import pytest
import requests
import soco
import soco.config

from fakesonos import Track
from fakesonos.faults import SpeakerFault
from harness.waiting import wait_for

pytestmark = [pytest.mark.timeout(30), pytest.mark.usefixtures("soco_events")]


@pytest.fixture
def short_request_timeout(monkeypatch):
    monkeypatch.setattr(soco.config, "REQUEST_TIMEOUT", 0.5)


def test_offline_speaker_refuses_connections_until_the_fault_is_cleared(fake_household):
    speaker = fake_household("Den").speaker("den")
    speaker.set_track(Track("Song"))
    device = soco.SoCo(speaker.ip)

    speaker.set_fault(SpeakerFault.OFFLINE)
    with pytest.raises(requests.exceptions.ConnectionError):
        device.get_current_track_info()
    with pytest.raises(requests.exceptions.ConnectionError):
        device.avTransport.subscribe()

    speaker.set_fault(None)
    assert device.get_current_track_info()["title"] == "Song"


@pytest.mark.usefixtures("short_request_timeout")
def test_hung_speaker_accepts_but_never_answers_so_soco_times_out(fake_household):
    speaker = fake_household("Den").speaker("den")
    speaker.set_track(Track("Song"))
    device = soco.SoCo(speaker.ip)

    speaker.set_fault(SpeakerFault.HANG)
    started = time.monotonic()
    with pytest.raises(requests.exceptions.ReadTimeout):
        device.get_current_track_info()
    assert time.monotonic() - started < 3

    speaker.set_fault(None)
    assert device.get_current_track_info()["title"] == "Song"


def test_hung_speaker_times_out_subscribe(fake_household):
    speaker = fake_household("Den").speaker("den")
    device = soco.SoCo(speaker.ip)
    assert device.household_id  # cached, so soco's cancel path makes no call (its SCPD fetch waits 10 s)
    speaker.set_fault(SpeakerFault.HANG)

    with pytest.raises(requests.exceptions.ReadTimeout):
        device.avTransport.subscribe()  # soco's own 3 s timeout for SUBSCRIBE


def test_upnp_disabled_gives_403_on_control_and_an_unsubscribed_subscription(fake_household):
    speaker = fake_household("Den").speaker("den")
    device = soco.SoCo(speaker.ip)
    speaker.set_fault(SpeakerFault.UPNP_DISABLED)

    with pytest.raises(requests.exceptions.HTTPError, match="403"):
        device.get_current_track_info()
    sub = device.avTransport.subscribe()  # soco swallows HTTP errors on SUBSCRIBE, even when strict
    assert (sub.is_subscribed, sub.sid) == (False, None)
    assert speaker.subscriptions == ()
    with requests.get(f"{speaker.base_url}/xml/device_description.xml", timeout=5) as description:
        assert description.status_code == 200  # descriptions stay readable; only control and events are shut


def test_reboot_is_offline_for_a_while_then_back_with_a_higher_boot_seq(fake_household):
    speaker = fake_household("Den").speaker("den")
    device = soco.SoCo(speaker.ip)
    boot_seq = device.boot_seqnum

    speaker.reboot(down_seconds=1.0)

    with pytest.raises(requests.exceptions.ConnectionError):
        device.get_current_transport_info()
    wait_for(lambda: not speaker.is_rebooting, timeout_seconds=5, what="the reboot to finish")
    device.zone_group_state.clear_cache()
    assert device.boot_seqnum == boot_seq + 1
    assert device.get_current_transport_info()["current_transport_state"] == "STOPPED"


def test_offline_during_reboot_stays_offline_after_it(fake_household):
    speaker = fake_household("Den").speaker("den")

    speaker.reboot(down_seconds=0.2)
    speaker.set_fault(SpeakerFault.OFFLINE)
    wait_for(lambda: not speaker.is_rebooting, timeout_seconds=5, what="the reboot to finish")

    with pytest.raises(requests.exceptions.ConnectionError):
        soco.SoCo(speaker.ip).get_current_transport_info()


def test_faults_on_one_speaker_leave_the_others_alone(fake_household):
    household = fake_household("Living Room", "Kitchen")
    household.speaker("kitchen").set_fault(SpeakerFault.OFFLINE)

    assert soco.SoCo(household.speaker("living-room").ip).player_name == "Living Room"
