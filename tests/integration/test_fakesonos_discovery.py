"""soco.discover() finds the household through the SSDP responder, where multicast works."""

from __future__ import annotations

import pytest
import soco

from fakesonos import Household
from fakesonos.faults import SpeakerFault
from fakesonos.ssdp import SsdpResponder

pytestmark = [pytest.mark.timeout(30), pytest.mark.xdist_group("ssdp")]


def discover(household: Household, responder: SsdpResponder, interface: str) -> set[soco.SoCo] | None:
    # household_id filters out replies from responders of other tests sharing port 1900.
    found: set[soco.SoCo] | None = soco.discover(
        timeout=2, interface_addr=interface, household_id=household.household_id
    )
    if found is None and responder.answered == 0:
        pytest.skip(f"multicast M-SEARCH from {interface} never reached UDP 1900 on this machine")
    return found


def test_discover_finds_every_visible_speaker_of_the_household(ssdp_household):
    household, responder, interface = ssdp_household

    found = discover(household, responder, interface)

    assert found == {soco.SoCo(s.ip) for s in household.speakers}
    assert {device.player_name for device in found} == {"Living Room", "Kitchen"}


def test_offline_speakers_do_not_answer(ssdp_household):
    household, responder, interface = ssdp_household
    household.speaker("living-room").set_fault(SpeakerFault.OFFLINE)
    household.speaker("kitchen").set_fault(SpeakerFault.OFFLINE)

    found = soco.discover(timeout=1, interface_addr=interface, household_id=household.household_id)

    assert found is None
    assert responder.answered == 0
