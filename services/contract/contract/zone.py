"""The now-playing state of one zone, as stored in Redis and sent to clients."""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field, replace
from enum import StrEnum
from typing import Any

ZONE_ID_PATTERN = r"[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?"
ZONE_ID_RE = re.compile(rf"^{ZONE_ID_PATTERN}$")


class TransportState(StrEnum):
    """Transport states as Sonos reports them."""

    PLAYING = "PLAYING"
    PAUSED_PLAYBACK = "PAUSED_PLAYBACK"
    STOPPED = "STOPPED"
    TRANSITIONING = "TRANSITIONING"


class Source(StrEnum):
    """Where the zone's audio comes from."""

    LIBRARY = "library"
    STREAMING = "streaming"
    RADIO = "radio"
    LINE_IN = "line_in"
    TV = "tv"
    AIRPLAY = "airplay"
    NONE = "none"


class EventType(StrEnum):
    """The `type` field of an events-stream entry."""

    TRACK = "track"
    STATE = "state"
    ZONE_ADDED = "zone_added"
    ZONE_REMOVED = "zone_removed"


def zone_id_for(name: str, uid: str) -> str:
    """Slug of a room name (`Living Room` -> `living-room`); falls back to the speaker UID."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_name.lower()).strip("-")[:64].strip("-")
    return slug or re.sub(r"[^a-z0-9]+", "-", uid.lower()).strip("-")[:64].strip("-") or "zone"


@dataclass(frozen=True)
class Member:
    """One room in a zone's group, by its main speaker (bonded speakers are not members)."""

    uid: str
    name: str

    @property
    def room_id(self) -> str:
        """The room's id: the slug of its name, as a zone id is the slug of its coordinator's room."""
        return zone_id_for(self.name, self.uid)


# The fields stored and sent as they are: text in Redis and in JSON alike.
_TEXT_FIELDS = (
    "name", "coordinator_uid", "title", "artist", "album", "station", "duration", "art_url", "art_hash",
    "accent", "accent_text", "accent_muted",
)  # fmt: skip


@dataclass(frozen=True)
class ZoneState:
    """Everything a display needs to know about one zone."""

    zone_id: str
    name: str
    coordinator_uid: str
    members: tuple[Member, ...] = ()
    state: TransportState = TransportState.STOPPED
    source: Source = Source.NONE
    title: str = ""
    artist: str = ""
    album: str = ""
    station: str = ""
    duration: str = ""
    art_url: str = ""
    art_hash: str = ""
    # `#rrggbb` of the cover: its dominant colour, black or white text on it, a dark variant.
    accent: str = ""
    accent_text: str = ""
    accent_muted: str = ""
    # Where the track was at `position_at_ms` (the server's clock); a display extrapolates while PLAYING.
    # duration_seconds 0: no length (radio, line-in, TV), so no progress bar.
    position_seconds: int = 0
    duration_seconds: int = 0
    position_at_ms: int = 0
    images: Mapping[str, str] = field(default_factory=dict)  # profile name -> path under ARTWORK_DIR
    version: int = 0
    updated_at_ms: int = 0

    def with_changes(self, **changes: Any) -> ZoneState:
        """A copy with some fields replaced."""
        return replace(self, **changes)

    def _text(self) -> dict[str, str]:
        return {name: getattr(self, name) for name in _TEXT_FIELDS}

    def to_redis_hash(self) -> dict[str, str]:
        """Flat string mapping stored at `sonos:zone:<id>` and in each stream entry."""
        return {
            **self._text(),
            "members": json.dumps([asdict(m) for m in self.members], ensure_ascii=False),
            "state": self.state.value,
            "source": self.source.value,
            "position_seconds": str(self.position_seconds),
            "duration_seconds": str(self.duration_seconds),
            "position_at": str(self.position_at_ms),
            "images": json.dumps(dict(self.images), sort_keys=True),
            "version": str(self.version),
            "updated_at": str(self.updated_at_ms),
        }

    @classmethod
    def from_redis_hash(cls, zone_id: str, raw: Mapping[str, str]) -> ZoneState:
        """Inverse of `to_redis_hash`; tolerant of missing fields, strict about types."""
        return cls(
            zone_id=zone_id,
            **{name: raw.get(name, "") for name in _TEXT_FIELDS},
            members=tuple(Member(**m) for m in json.loads(raw.get("members") or "[]")),
            state=TransportState(raw.get("state") or TransportState.STOPPED),
            source=Source(raw.get("source") or Source.NONE),
            position_seconds=int(raw.get("position_seconds") or 0),
            duration_seconds=int(raw.get("duration_seconds") or 0),
            position_at_ms=int(raw.get("position_at") or 0),
            images=json.loads(raw.get("images") or "{}"),
            version=int(raw.get("version") or 0),
            updated_at_ms=int(raw.get("updated_at") or 0),
        )

    def to_json_dict(self) -> dict[str, Any]:
        """The state as JSON-ready values (the pub/sub payload and the API's base)."""
        return {
            "id": self.zone_id,
            **self._text(),
            "members": [asdict(m) for m in self.members],
            "state": self.state.value,
            "source": self.source.value,
            "position_seconds": self.position_seconds,
            "duration_seconds": self.duration_seconds,
            "position_at": self.position_at_ms,
            "images": dict(self.images),
            "version": self.version,
            "updated_at": self.updated_at_ms,
        }


def default_zone_id(configured: str, zone_ids: Iterable[str]) -> str | None:
    """`DEFAULT_ZONE` when set, else the first zone id in sort order; None when there is none."""
    if configured:
        return configured
    return min(zone_ids, default=None)
