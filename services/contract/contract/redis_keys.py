"""Names of every Redis key and channel, all under one prefix."""

from __future__ import annotations

from dataclasses import dataclass

EVENTS_MAXLEN = 1000
"""Approximate length cap of the events stream (`XADD MAXLEN ~`)."""

RESYNC_MESSAGE = '{"resync": true}'
"""Published on the changes channel after an edit that bypassed the poller (a FLUSHALL, a hand edit):
subscribers that keep a copy of the zones read them all again. A message that names no zone (this
one, or `{"rooms": {...}}` after rooms moved between groups) asks for the same."""


@dataclass(frozen=True)
class RedisKeys:
    """Key and channel names derived from `REDIS_PREFIX`."""

    prefix: str = "sonos"

    @property
    def zones(self) -> str:
        """Set of zone ids."""
        return f"{self.prefix}:zones"

    @property
    def rooms(self) -> str:
        """Hash of room id -> the zone id of the group the room is in now."""
        return f"{self.prefix}:rooms"

    def zone(self, zone_id: str) -> str:
        """Hash holding one zone's now-playing state."""
        return f"{self.prefix}:zone:{zone_id}"

    @property
    def events(self) -> str:
        """Stream with one entry per change."""
        return f"{self.prefix}:events"

    @property
    def changes(self) -> str:
        """Pub/sub channel carrying the full zone state after each change."""
        return f"{self.prefix}:changes"

    @property
    def poller(self) -> str:
        """Heartbeat string of the poller, with a TTL."""
        return f"{self.prefix}:poller"
