"""Which group each room is in, and what Redis may say of it before the group's state is stored."""

from __future__ import annotations

from contract.zone import Member
from poller.rooms import removable_zones, room_groups, rooms_to_store

LIVING = Member("RINCON_1", "Living Room")
KITCHEN = Member("RINCON_2", "Kitchen")


def test_every_member_room_maps_to_its_groups_zone():
    assert room_groups([("living-room", [LIVING, KITCHEN])]) == {
        "living-room": "living-room",
        "kitchen": "living-room",
    }


def test_a_room_that_joined_a_stored_group_follows_it_at_once():
    topology = {"living-room": "living-room", "kitchen": "living-room"}
    stored = {"kitchen": "kitchen", "living-room": "living-room"}

    rooms = rooms_to_store(topology, stored, {"living-room", "kitchen"})

    assert rooms == topology
    assert removable_zones({"kitchen"}, rooms) == {"kitchen"}


def test_a_room_that_left_its_group_stays_with_it_until_its_own_state_is_stored():
    topology = {"living-room": "living-room", "kitchen": "kitchen"}
    stored = {"living-room": "living-room", "kitchen": "living-room"}

    assert rooms_to_store(topology, stored, {"living-room"}) == stored
    assert rooms_to_store(topology, stored, {"living-room", "kitchen"}) == topology


def test_a_zone_a_room_still_points_at_is_not_removed_yet():
    # The coordinator moved to the kitchen: until the kitchen's state is stored, both rooms show
    # the old group, and the old zone stays.
    topology = {"living-room": "kitchen", "kitchen": "kitchen"}
    stored = {"living-room": "living-room", "kitchen": "living-room"}

    rooms = rooms_to_store(topology, stored, {"living-room"})

    assert rooms == stored
    assert removable_zones({"living-room"}, rooms) == set()


def test_a_room_whose_group_was_never_stored_is_not_listed():
    assert rooms_to_store({"office": "office"}, {}, set()) == {}


def test_a_room_that_left_the_household_is_dropped_and_its_zone_removed():
    rooms = rooms_to_store(
        {"living-room": "living-room"}, {"living-room": "living-room", "den": "den"}, {"living-room", "den"}
    )

    assert rooms == {"living-room": "living-room"}
    assert removable_zones({"den"}, rooms) == {"den"}
