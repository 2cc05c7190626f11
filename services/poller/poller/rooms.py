"""Pure decisions about rooms: which group each room is in, and what Redis may say of it yet.

A display is pinned to a room (`/zones/kitchen/...`), and rooms move between groups all day. Redis
holds `sonos:rooms` (room id -> zone id), and a room must never point at a zone whose state is not
stored, or its display would answer 404 for a moment. So a room follows its new group only once
that group's state is in Redis, and a zone that a room still points at is removed only after.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Set

from contract.zone import Member


def room_groups(zones: Iterable[tuple[str, Iterable[Member]]]) -> dict[str, str]:
    """Room id -> zone id of the group it is in, from each zone's id and members."""
    return {member.room_id: zone_id for zone_id, members in zones for member in members}


def rooms_to_store(
    topology: Mapping[str, str], stored_rooms: Mapping[str, str], stored_zones: Set[str]
) -> dict[str, str]:
    """The room map Redis may hold now: each room's group once its state is stored, else its old one."""
    rooms: dict[str, str] = {}
    for room, zone_id in topology.items():
        if zone_id in stored_zones:
            rooms[room] = zone_id
        elif stored_rooms.get(room) in stored_zones:
            rooms[room] = stored_rooms[room]
    return rooms


def removable_zones(removals: Iterable[str], rooms: Mapping[str, str]) -> set[str]:
    """The zones to remove that no room points at any more."""
    return set(removals) - set(rooms.values())
