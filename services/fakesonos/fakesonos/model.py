"""Immutable values of the emulated household: tracks, speaker identities and snapshots."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from urllib.parse import quote

from contract.zone import TransportState, zone_id_for

SONOS_PORT = 1400
MAX_DURATION_SECONDS = 24 * 3600


@dataclass(frozen=True)
class Cover:
    """Album-art bytes as a speaker serves them from `/getaa`."""

    data: bytes = field(repr=False)
    content_type: str = "image/jpeg"


@dataclass(frozen=True)
class Track:
    """A library track; an empty `uri` is derived from artist, album and title."""

    title: str
    artist: str = ""
    album: str = ""
    duration_seconds: int = 210
    uri: str = ""
    cover: Cover | None = None

    def __post_init__(self) -> None:
        if not 0 <= self.duration_seconds <= MAX_DURATION_SECONDS:
            raise ValueError(f"duration_seconds must be 0..{MAX_DURATION_SECONDS}")
        if not self.uri:
            # A stable NAS-style URI, so /getaa?u=... identifies the track like on a real speaker.
            path = "/".join(
                quote(part or "unknown", safe="") for part in (self.artist, self.album, self.title)
            )
            object.__setattr__(self, "uri", f"x-file-cifs://fakesonos/music/{path}.mp3")


def uid_for(ip: str, port: int) -> str:
    """A stable `RINCON_<12 hex>01400` uid for an address (real ones embed the MAC)."""
    digest = hashlib.sha256(f"{ip}:{port}".encode()).hexdigest()[:12].upper()
    return f"RINCON_{digest}01400"


@dataclass(frozen=True)
class SpeakerInfo:
    """The fixed identity of one fake speaker."""

    ip: str
    port: int
    room: str
    uid: str

    @property
    def base_url(self) -> str:
        """`http://ip:port`, what soco builds from the address."""
        return f"http://{self.ip}:{self.port}"

    @property
    def location(self) -> str:
        """Device-description URL, exactly as the ZoneGroupState must carry it."""
        return f"{self.base_url}/xml/device_description.xml"

    @property
    def zone_id(self) -> str:
        """The project's zone id for this room."""
        return zone_id_for(self.room, self.uid)

    @property
    def serial_number(self) -> str:
        """`AA-BB-CC-DD-EE-FF:7`; soco takes the MAC from the part before the colon."""
        mac = self.uid.removeprefix("RINCON_")[:12]
        return "-".join(mac[i : i + 2] for i in range(0, 12, 2)) + ":7"


@dataclass(frozen=True)
class PlaybackView:
    """What one speaker reports over AVTransport at one moment."""

    speaker: SpeakerInfo
    coordinator_uid: str
    state: TransportState
    track: Track | None
    position_seconds: int

    @property
    def is_member(self) -> bool:
        """True for a grouped non-coordinator, which points at its coordinator instead of a track."""
        return self.coordinator_uid != self.speaker.uid


@dataclass(frozen=True)
class GroupView:
    """One zone group; the coordinator comes first in `members`."""

    coordinator: SpeakerInfo
    members: tuple[SpeakerInfo, ...]


@dataclass(frozen=True)
class Topology:
    """The household's groups as every speaker reports them in GetZoneGroupState."""

    household_id: str
    groups: tuple[GroupView, ...]
    version: int
