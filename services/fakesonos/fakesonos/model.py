"""Immutable values of the emulated household: tracks, speaker identities and snapshots."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from enum import StrEnum
from urllib.parse import quote

from contract.zone import TransportState, zone_id_for
from fakesonos.faults import ArtFault

SONOS_PORT = 1400
MAX_DURATION_SECONDS = 24 * 3600


@dataclass(frozen=True)
class Cover:
    """Album-art bytes as a speaker serves them from `/getaa`."""

    data: bytes = field(repr=False)
    content_type: str = "image/jpeg"


class Source(StrEnum):
    """Where a track comes from; each is reported the way a real speaker reports it."""

    LIBRARY = "library"  # x-file-cifs:, relative /getaa art
    STREAMING = "streaming"  # x-sonos-spotify:, absolute http art from the emulator's art server
    RADIO = "radio"  # x-sonosapi-stream: (or x-rincon-mp3radio:), streamContent, station name
    LINE_IN = "line_in"  # x-rincon-stream:<uid>
    TV = "tv"  # x-sonos-htastream:<uid>:spdif
    AIRPLAY = "airplay"  # x-sonos-vli:<uid>:1,airplay:...


# Sources whose uri names the playing speaker, so it is filled in when the track is played.
SPEAKER_BOUND_SOURCES = frozenset({Source.LINE_IN, Source.TV, Source.AIRPLAY})
# Sources that have no album art at all on a real speaker.
ARTLESS_SOURCES = frozenset({Source.LINE_IN, Source.TV})


@dataclass(frozen=True)
class Track:
    """What a zone plays; an empty `uri` is derived from the source and the other fields.

    `station` is the radio station name (GetMediaInfo's channel); `stream_content` is the radio's
    now-playing text, `"Artist - Title"` by default when both are given; `art_fault` makes the album-art
    URL misbehave. A track has album art when it has a cover or an art fault. `metadata`, when set,
    is a TrackMetaData DIDL-Lite document reported verbatim, as recorded from a real speaker.
    """

    title: str
    artist: str = ""
    album: str = ""
    duration_seconds: int = 210
    uri: str = ""
    cover: Cover | None = None
    source: Source = Source.LIBRARY
    station: str = ""
    stream_content: str | None = None
    art_fault: ArtFault | None = None
    metadata: str = ""

    def __post_init__(self) -> None:
        if not 0 <= self.duration_seconds <= MAX_DURATION_SECONDS:
            raise ValueError(f"duration_seconds must be 0..{MAX_DURATION_SECONDS}")
        # Accept plain strings ("radio", "SLOW_DRIP") from callers and scenario files.
        object.__setattr__(self, "source", Source(self.source))
        if self.art_fault is not None:
            object.__setattr__(self, "art_fault", ArtFault(self.art_fault))
        if self.stream_content is None:
            default = f"{self.artist} - {self.title}" if self.artist and self.title else self.title
            object.__setattr__(self, "stream_content", default if self.source is Source.RADIO else "")
        if not self.uri and self.source not in SPEAKER_BOUND_SOURCES:
            object.__setattr__(self, "uri", default_uri(self))

    @property
    def has_art(self) -> bool:
        """True when the speaker advertises an album-art URL for this track."""
        return self.source not in ARTLESS_SOURCES and (self.cover is not None or self.art_fault is not None)

    @property
    def has_duration(self) -> bool:
        """False for live sources, which report a duration of 0:00:00 or none."""
        return self.source in (Source.LIBRARY, Source.STREAMING, Source.AIRPLAY)

    def on_speaker(self, uid: str) -> Track:
        """This track as played by the speaker with this uid (fills in speaker-bound uris)."""
        if self.uri:
            return self
        return replace(self, uri=speaker_bound_uri(self.source, uid, self.title))


def _digest(*parts: str) -> str:
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()


def default_uri(track: Track) -> str:
    """A stable uri in the style of the track's source, so art URLs identify the track."""
    if track.source is Source.STREAMING:
        # Spotify ids are 22 base62 characters; hex is close enough for every parser.
        track_id = _digest(track.artist, track.album, track.title)[:22]
        return f"x-sonos-spotify:spotify%3atrack%3a{track_id}?sid=12&flags=8224&sn=1"
    if track.source is Source.RADIO:
        station_id = int(_digest(track.station or track.title)[:8], 16) % 100000
        return f"x-sonosapi-stream:s{station_id}?sid=254&flags=8224&sn=0"
    # A stable NAS-style URI, so /getaa?u=... identifies the track like on a real speaker.
    path = "/".join(quote(part or "unknown", safe="") for part in (track.artist, track.album, track.title))
    return f"x-file-cifs://fakesonos/music/{path}.mp3"


def speaker_bound_uri(source: Source, uid: str, title: str = "") -> str:
    """The uri of an input that belongs to one speaker (line-in, TV, AirPlay)."""
    if source is Source.LINE_IN:
        return f"x-rincon-stream:{uid}"
    if source is Source.TV:
        return f"x-sonos-htastream:{uid}:spdif"
    if source is Source.AIRPLAY:
        return f"x-sonos-vli:{uid}:1,airplay:{_digest(uid, title)[:16]}"
    raise ValueError(f"{source} is not bound to a speaker")


def uid_for(ip: str, port: int) -> str:
    """A stable `RINCON_<12 hex>01400` uid for an address (real ones embed the MAC)."""
    digest = hashlib.sha256(f"{ip}:{port}".encode()).hexdigest()[:12].upper()
    return f"RINCON_{digest}01400"


class Bond(StrEnum):
    """The part a bonded speaker plays in its room: never a room of its own, never grouped alone."""

    RIGHT = "right"  # the second speaker of a stereo pair: an invisible group member
    SUB = "sub"  # home theatre satellites: <Satellite> children of the room's main speaker
    SURROUND_LEFT = "surround-left"
    SURROUND_RIGHT = "surround-right"

    @property
    def is_satellite(self) -> bool:
        """Home-theatre parts are listed inside their main speaker's entry; a stereo partner beside it."""
        return self is not Bond.RIGHT


@dataclass(frozen=True)
class SpeakerInfo:
    """The fixed identity of one fake speaker."""

    ip: str
    port: int
    room: str
    uid: str
    bond: Bond | None = None  # None: a room's main speaker
    bonded_to: str = ""  # uid of the room's main speaker, for a bonded one

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
    art_base_url: str = ""  # the emulator's art server, for streaming tracks' absolute art URLs

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
    boot_seqs: Mapping[str, int] = field(default_factory=dict)  # uid -> BootSeq, bumped by reboots


def art_token(uri: str) -> str:
    """The short id under which a track's art is served by the art server."""
    return hashlib.sha256(uri.encode()).hexdigest()[:24]
