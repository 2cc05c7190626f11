"""Pure decisions about what a zone is playing: source, fields, and whether it changed."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from html import unescape
from xml.etree import ElementTree

from contract.timecode import parse_hms
from contract.zone import EventType, Source, TransportState
from poller.radio import StreamMetadata, describe

_RADIO_PREFIXES = (
    "x-rincon-mp3radio:",
    "x-sonosapi-stream:",
    "x-sonosapi-radio:",
    "x-sonosapi-hls:",
    "x-sonos-http:sonos",
    "aac:",
    "hls-radio:",
)
_LIBRARY_PREFIXES = ("x-file-cifs:", "x-smb:", "x-rincon-playlist:")
_UPNP_NS = "urn:schemas-upnp-org:metadata-1-0/upnp/"
_DC_NS = "http://purl.org/dc/elements/1.1/"
_RINCON_NS = "urn:schemas-rinconnetworks-com:metadata-1-0/"
_STREAMING_PREFIXES = ("x-sonos-http:", "x-sonos-spotify:", "x-sonosprog-http:", "http:", "https:")


@dataclass(frozen=True)
class Snapshot:
    """What the group coordinator reported in one read, as plain strings."""

    transport_state: str
    track_uri: str
    media_uri: str
    title: str = ""
    artist: str = ""
    album: str = ""
    channel: str = ""
    duration: str = ""
    position: str = ""  # RelTime, `H:MM:SS`, from the same GetPositionInfo as the track
    album_art: str = ""
    stream: StreamMetadata | None = None  # the raw DIDL strings, for radio (None: use the fields above)

    @classmethod
    def from_soco(
        cls, track: Mapping[str, str], transport: Mapping[str, str], media: Mapping[str, str]
    ) -> Snapshot:
        """Build from soco's get_current_{track,transport,media}_info() dicts."""
        didl = parse_didl(track.get("metadata") or "")
        return cls(
            transport_state=transport.get("current_transport_state", ""),
            track_uri=track.get("uri") or "",
            media_uri=media.get("uri") or "",
            title=track.get("title") or "",
            artist=track.get("artist") or "",
            album=track.get("album") or "",
            channel=media.get("channel") or "",
            duration=track.get("duration") or "",
            position=track.get("position") or "",
            # soco drops the art of radio whose streamContent names an artist; the DIDL still has it.
            album_art=track.get("album_art") or didl.album_art,
            # soco splits radio text its own way; poller.radio reads each provider's from the source.
            stream=replace(didl.stream, channel=media.get("channel") or ""),
        )


@dataclass(frozen=True)
class Didl:
    """What displays need from a track's DIDL-Lite metadata."""

    album_art: str = ""
    stream: StreamMetadata = field(default_factory=StreamMetadata)


def parse_didl(metadata: str) -> Didl:
    """The album art and the raw texts of a DIDL-Lite document; empty when it is absent or broken."""
    if not metadata.startswith("<DIDL-Lite"):
        return Didl()
    try:
        root = ElementTree.fromstring(metadata)  # noqa: S314 - expat refuses entity expansion bombs
    except ElementTree.ParseError:
        return Didl()

    def first(namespace: str, tag: str) -> str:
        found = root.find(f".//{{{namespace}}}{tag}")
        return (found.text or "").strip() if found is not None else ""

    return Didl(
        album_art=first(_UPNP_NS, "albumArtURI"),
        stream=StreamMetadata(
            stream_content=first(_RINCON_NS, "streamContent"),
            title=first(_DC_NS, "title"),
            creator=first(_DC_NS, "creator"),
            album=first(_UPNP_NS, "album"),
        ),
    )


@dataclass(frozen=True)
class NowPlaying:
    """The user-visible now-playing fields of a zone."""

    state: TransportState
    source: Source
    title: str = ""
    artist: str = ""
    album: str = ""
    station: str = ""
    duration: str = ""
    art_url: str = ""
    # Where the track is, and how long it is (0: no length, as for radio). Not part of equality: the
    # position moves every second, and only a seek (see `seeked`) makes it news.
    position_seconds: int = field(default=0, compare=False)
    duration_seconds: int = field(default=0, compare=False)

    @property
    def track_key(self) -> tuple[str, ...]:
        """Fields whose change makes a new track (and new art) rather than a state change."""
        return (self.source, self.title, self.artist, self.album, self.station, self.art_url)


def classify_source(track_uri: str, media_uri: str) -> Source:
    """Where the audio comes from, judged by the track URI first, then the media URI."""
    for uri in (track_uri, media_uri):
        lowered = uri.lower()
        if not lowered:
            continue
        if lowered.startswith("x-rincon-stream:"):
            return Source.LINE_IN
        if lowered.startswith("x-sonos-htastream:"):
            return Source.TV
        if lowered.startswith("x-sonos-vli:"):
            return Source.AIRPLAY if "airplay" in lowered else Source.STREAMING
        if lowered.startswith(_RADIO_PREFIXES):
            return Source.RADIO
        if lowered.startswith(_LIBRARY_PREFIXES):
            return Source.LIBRARY
        if lowered.startswith(_STREAMING_PREFIXES):
            return Source.STREAMING
    return Source.NONE


def parse_state(value: str) -> TransportState:
    """Transport state, treating anything unknown as stopped."""
    try:
        return TransportState(value)
    except ValueError:
        return TransportState.STOPPED


def now_playing(snapshot: Snapshot) -> NowPlaying:
    """Reduce a coordinator snapshot to what displays show."""
    source = classify_source(snapshot.track_uri, snapshot.media_uri)
    state = parse_state(snapshot.transport_state)
    if source in (Source.LINE_IN, Source.TV, Source.NONE):
        # These have no album art; any art URL would be stale or meaningless.
        return NowPlaying(state, source, title=snapshot.title, station=snapshot.channel)
    # A live stream has no length (Sonos says 0:00:00, some stations a bogus one): no progress bar.
    duration_seconds = 0 if source is Source.RADIO else parse_hms(snapshot.duration) or 0
    title, artist, album, station = snapshot.title, snapshot.artist, snapshot.album, ""
    if source is Source.RADIO:
        raw = snapshot.stream or StreamMetadata(
            title=snapshot.title, creator=snapshot.artist, album=snapshot.album, channel=snapshot.channel
        )
        radio = describe(raw)
        title, artist, album, station = radio.title, radio.artist, radio.album, radio.station
    return NowPlaying(
        state=state,
        source=source,
        title=title,
        artist=artist,
        album=album,
        station=station,
        duration=snapshot.duration,
        art_url=unescape(snapshot.album_art),
        position_seconds=min(parse_hms(snapshot.position) or 0, duration_seconds),
        duration_seconds=duration_seconds,
    )


def joined_another_group(snapshot: Snapshot) -> bool:
    """Whether the speaker read is a member of another group now (it points at that coordinator)."""
    return snapshot.track_uri.startswith("x-rincon:") or snapshot.media_uri.startswith("x-rincon:")


def change_type(previous: NowPlaying | None, current: NowPlaying) -> EventType | None:
    """`track` when the track changed, `state` when only the transport state did, else None."""
    if previous is None or previous.track_key != current.track_key:
        return EventType.TRACK
    if previous != current:
        return EventType.STATE
    return None


def seeked(
    published: NowPlaying,
    published_at_ms: int,
    current: NowPlaying,
    now_ms: int,
    tolerance_seconds: float = 3.0,
) -> bool:
    """Whether the position jumped (a seek) rather than moved on with the clock since it was published.

    The tolerance absorbs whole-second RelTime and the time between reading and publishing.
    """
    if not current.duration_seconds:
        return False
    expected = float(published.position_seconds)
    if published.state is TransportState.PLAYING:
        expected += max(now_ms - published_at_ms, 0) / 1000
    expected = min(expected, published.duration_seconds or expected)
    return abs(current.position_seconds - expected) > tolerance_seconds


def placeholder_label(playing: NowPlaying) -> str:
    """Text for a generated placeholder when there is no usable art."""
    if playing.source is Source.LINE_IN:
        return "Line-in"
    if playing.source is Source.TV:
        return "TV"
    if playing.source is Source.NONE or (playing.state is TransportState.STOPPED and not playing.title):
        return "Nothing playing"
    if playing.source is Source.RADIO:
        return playing.station or "Radio"
    return playing.album or playing.title or "No artwork"
