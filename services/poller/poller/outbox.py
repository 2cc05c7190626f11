"""What Redis should hold, and what it holds: zone states, the room map and removals, written in
order, kept through an outage, and all written again after Redis comes back empty.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from functools import partial
from typing import Any

from contract.zone import EventType, Member, ZoneState
from poller.errors import PublishError
from poller.publisher import RedisPublisher
from poller.rooms import removable_zones, room_groups, rooms_to_store

log = logging.getLogger("poller")


class Outbox:
    """Pending writes to Redis; the caller serialises every call (the poller's lock)."""

    def __init__(self, publisher: RedisPublisher, on_failure: Callable[[PublishError], None]) -> None:
        self._publisher = publisher
        self._on_failure = on_failure  # counted and reported in the heartbeat by the owner
        self._pending: dict[str, tuple[ZoneState, EventType]] = {}
        self._removals: set[str] = set()
        self._stored: set[str] = set()  # zones whose state Redis holds
        self._stored_rooms: dict[str, str] = {}  # the room map Redis holds
        self._redis_down = False
        # The first beat of a run finds no key; that only means data was lost once Redis has held
        # something of ours: an earlier beat, or a published zone.
        self._held_data = False

    def put(self, state: ZoneState, event: EventType) -> None:
        """Publish this state of its zone at the next flush, superseding one not yet written."""
        self._pending[state.zone_id] = (state, event)

    def remove(self, zone_id: str) -> None:
        """The zone is gone: drop what is pending for it, and remove it once no room points at it."""
        self._pending.pop(zone_id, None)
        self._removals.add(zone_id)

    def keep(self, zone_id: str) -> None:
        """The zone is back before its removal was written: keep it."""
        self._removals.discard(zone_id)

    def zone_of_room(self, room: str) -> str:
        """The zone Redis maps this room to (the room itself when it is not mapped)."""
        return self._stored_rooms.get(room, room)

    def flush(self, members: Iterable[tuple[str, tuple[Member, ...]]]) -> None:
        """Publish the latest pending state of each zone, then the room map, then removals.

        States reach Redis in the order they were made. On a failure the rest waits for the next
        flush. The order keeps every room pointing at a stored zone (see `poller.rooms`).
        """
        for zone_id, (state, event) in list(self._pending.items()):
            if not self._write(partial(self._publisher.publish, state, event)):
                return
            del self._pending[zone_id]
            self._stored.add(zone_id)
        rooms = rooms_to_store(room_groups(members), self._stored_rooms, self._stored)
        if rooms != self._stored_rooms:
            if not self._write(partial(self._publisher.publish_rooms, rooms)):
                return
            for room, zone_id in sorted(rooms.items()):
                if self._stored_rooms.get(room) not in (None, zone_id):
                    log.info("room %s is in %s's group now", room, zone_id)
            self._stored_rooms = rooms
        for zone_id in removable_zones(self._removals, rooms):
            if not self._write(partial(self._publisher.remove, zone_id)):
                return
            self._removals.discard(zone_id)
            self._stored.discard(zone_id)

    def heartbeat(
        self,
        payload: dict[str, Any],
        ttl_seconds: int,
        published: Callable[[], list[ZoneState]],
        members: Callable[[], Iterable[tuple[str, tuple[Member, ...]]]],
    ) -> None:
        """Write the heartbeat; when Redis lost what it held, write every published state again."""
        try:
            intact = self._publisher.heartbeat(payload, ttl_seconds)
        except PublishError as err:
            self._failed(err)
            return
        self._answered()
        if not intact and self._held_data:
            self._reassert(published(), members())
        self._held_data = True

    def _reassert(self, states: list[ZoneState], members: Iterable[tuple[str, tuple[Member, ...]]]) -> None:
        """Redis came back empty (it keeps nothing on disk): write every zone's state again."""
        if states:
            log.warning("Redis lost its state; re-asserting %d zone(s)", len(states))
        self._stored.clear()
        self._stored_rooms = {}
        for state in states:
            self._pending.setdefault(state.zone_id, (state, EventType.ZONE_ADDED))
        self.flush(members)

    def _write(self, publish: Callable[[], None]) -> bool:
        try:
            publish()
        except PublishError as err:
            self._failed(err)
            return False
        self._answered()
        self._held_data = True
        return True

    def _failed(self, err: PublishError) -> None:
        self._on_failure(err)
        if not self._redis_down:
            self._redis_down = True
            log.warning("Redis unavailable; still watching, keeping the latest state per zone: %s", err)

    def _answered(self) -> None:
        if self._redis_down:
            self._redis_down = False
            log.info("Redis answers again")
