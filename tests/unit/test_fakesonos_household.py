"""The household model: grouping rules, playback state and the demo playlist (no network)."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from contract.zone import TransportState
from fakesonos import Bond, Household, Track, UnknownSpeakerError, upnp


def household_of(*rooms: str) -> Household:
    household = Household("Sonos_unit")
    for n, room in enumerate(rooms, start=2):
        household.add_speaker(f"127.0.0.{n}", room)
    return household


def test_speakers_are_found_by_ip_uid_zone_id_or_room():
    household = household_of("Living Room", "Kitchen")
    kitchen = household.speakers[1]

    for ref in ("127.0.0.3", "127.0.0.3:1400", kitchen.uid, "kitchen", "Kitchen"):
        assert household.speaker(ref) is kitchen
    with pytest.raises(UnknownSpeakerError):
        household.speaker("garage")


def test_duplicate_addresses_and_zone_ids_are_refused():
    household = household_of("Living Room")

    with pytest.raises(ValueError, match=r"two speakers on 127\.0\.0\.2:1400"):
        household.add_speaker("127.0.0.2", "Other")
    with pytest.raises(ValueError, match="same zone id 'living-room'"):
        household.add_speaker("127.0.0.9", "living room")


def test_member_reports_the_group_playback_and_controls_the_coordinator():
    household = household_of("Living Room", "Kitchen")
    living, kitchen = household.speakers
    household.group(living, [kitchen])

    kitchen.set_track(Track("Shared", "Band"))

    assert living.view().track == Track("Shared", "Band")
    assert kitchen.view().is_member
    assert kitchen.view().state is TransportState.PLAYING
    assert household.coordinator_of(kitchen) is living


def test_joining_another_group_leaves_former_followers_standalone_and_stopped():
    household = household_of("A", "B", "C")
    a, b, c = household.speakers
    household.group(b, [c])
    b.set_track(Track("t"))

    household.group(a, [b])

    topology = household.topology()
    assert [(g.coordinator.room, [m.room for m in g.members]) for g in topology.groups] == [
        ("A", ["A", "B"]),
        ("C", ["C"]),
    ]
    assert c.view().state is TransportState.STOPPED


def test_ungrouping_a_coordinator_dissolves_its_group_and_bumps_the_topology():
    household = household_of("A", "B", "C")
    a, b, c = household.speakers
    household.group(a, [b, c])
    version = household.topology().version

    household.ungroup(a)

    assert len(household.topology().groups) == 3
    assert household.topology().version > version
    with pytest.raises(ValueError, match="own group"):
        household.group(a, [a])


def test_state_changes_keep_the_track_and_bump_the_change_counter():
    household = household_of("A")
    (a,) = household.speakers
    a.set_track(Track("t", duration_seconds=100))
    count = a.change_count

    a.set_state(TransportState.PAUSED_PLAYBACK)
    a.set_state(TransportState.PAUSED_PLAYBACK)  # no change, no bump

    assert a.change_count == count + 1
    assert a.view().track == Track("t", duration_seconds=100)
    assert a.view().position_seconds <= 1


def test_empty_queue_is_stopped_without_a_track():
    household = household_of("A")
    (a,) = household.speakers
    a.set_track(Track("t"))

    a.set_track(None)

    assert (a.view().track, a.view().state) == (None, TransportState.STOPPED)


def test_track_uri_is_derived_and_stable():
    assert Track("Título", "A/B", "C").uri == "x-file-cifs://fakesonos/music/A%2FB/C/T%C3%ADtulo.mp3"
    with pytest.raises(ValueError, match="duration_seconds"):
        Track("t", duration_seconds=-1)


def bonded_household() -> Household:
    household = household_of("Living Room", "Kitchen")
    household.add_speaker("127.0.0.4", "Living Room", bond=Bond.SUB)
    household.add_speaker("127.0.0.5", "Living Room", bond=Bond.SURROUND_LEFT)
    household.add_speaker("127.0.0.6", "Kitchen", bond=Bond.RIGHT)
    return household


def test_bonded_speakers_appear_as_real_ones_do_in_the_zone_group_state():
    household = bonded_household()

    groups = {
        g.get("Coordinator"): g
        for g in ET.fromstring(upnp.zone_group_state(household.topology())).iter("ZoneGroup")
    }

    living = groups[household.speaker("living-room").uid]
    (main,) = living.findall("ZoneGroupMember")
    assert main.get("Invisible") is None
    assert "HTSatChanMapSet" in main.attrib
    assert [(s.get("Location"), s.get("Invisible")) for s in main.findall("Satellite")] == [
        ("http://127.0.0.4:1400/xml/device_description.xml", "1"),
        ("http://127.0.0.5:1400/xml/device_description.xml", "1"),
    ]
    kitchen = groups[household.speaker("kitchen").uid]
    assert [(m.get("ZoneName"), m.get("Invisible")) for m in kitchen.findall("ZoneGroupMember")] == [
        ("Kitchen", None),
        ("Kitchen", "1"),
    ]
    assert all("ChannelMapSet" in m.attrib for m in kitchen)


def test_a_bonded_speaker_follows_its_room_into_groups_and_never_groups_alone():
    household = bonded_household()
    sub = household.speaker("127.0.0.4")

    household.group("kitchen", ["living-room"])

    assert household.coordinator_of(sub) is household.speaker("kitchen")
    (group,) = household.topology().groups
    assert {m.ip for m in group.members} == {f"127.0.0.{n}" for n in range(2, 7)}
    with pytest.raises(ValueError, match="bonded"):
        household.group(sub, ["kitchen"])
    with pytest.raises(ValueError, match="bonded"):
        household.ungroup(sub)
    assert household.speaker("Living Room").ip == "127.0.0.2", "a room's name finds its main speaker"


def test_a_bonded_speaker_needs_its_rooms_main_speaker():
    with pytest.raises(ValueError, match="main speaker of 'Office'"):
        household_of("Kitchen").add_speaker("127.0.0.9", "Office", bond=Bond.SUB)
