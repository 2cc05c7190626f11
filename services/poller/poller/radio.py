"""What a radio stream is playing, from each provider's metadata: title, artist, album, station.

Speakers pass a station's now-playing text through as the provider wrote it (`r:streamContent`
in the track's DIDL-Lite), and each provider writes it its own way:

| provider                  | streamContent                                              |
|---------------------------|------------------------------------------------------------|
| TuneIn, most stations     | `Artist - Title`                                           |
| iHeartRadio               | `title="…",artist="…",url="song_spot=\\"M\\" …"`, or        |
|                           | `TITLE text="…" amgTrackId="…"` with the artist in dc:creator |
| Apple Music radio         | `TYPE=SNG|TITLE …|ARTIST …|ALBUM …`                        |
| SiriusXM                  | `BR P|TYPE=SNG|TITLE …|ARTIST …|ALBUM …`                   |
| Sonos Radio               | empty; the song is in dc:title, dc:creator, upnp:album     |
| ad breaks, station IDs    | `ZPSTR_CONNECTING`, `Spot Block End`, `TYPE=SPOT|…`, …      |

`PARSERS` is that table as code: the first parser that recognises the text decides. Whatever comes
out is then cleaned: a URI, a service id, a file name (`live.m3u8`) or an ad-break marker is never a
title, and a title that only repeats the station is dropped, so the display shows the station.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, replace

_PIPE_TAG_RE = re.compile(r"^([A-Z]+)[ =](.*)$", re.S)
_ATTR_RE = re.compile(r'(\w+)="((?:[^"\\]|\\.)*)"')
_FILE_RE = re.compile(r"\.(?:m3u8?|pls|asx|xspf|aac|mp3|ogg|opus|flac)(?:[?#].*)?$", re.I)
_URI_RE = re.compile(r"^(?:[a-z][a-z0-9+.-]*:(?://)?\S+|www\.\S+)$", re.I)
_SERVICE_ID_RE = re.compile(r"^(?:[spt]\d+|[A-Z_]+:[\w:.-]+|RINCON_\w+)$")
# Texts that stand for no song: connection states, and what stations send between songs.
_NO_SONG_RE = re.compile(
    r"^(?:ZPSTR_\w+|spot block(?: end)?|advert(?:isement|ising)?s?|commercials?(?: break)?|ad break"
    r"|station id|sweeper|jingle|news|traffic(?: and weather)?|weather)$",
    re.I,
)


@dataclass(frozen=True)
class StreamMetadata:
    """The raw strings a speaker reports for a radio stream."""

    stream_content: str = ""  # r:streamContent of the track's DIDL-Lite
    title: str = ""  # dc:title of the track's DIDL-Lite
    creator: str = ""  # dc:creator
    album: str = ""  # upnp:album
    channel: str = ""  # dc:title of the media's DIDL-Lite: the station, as the speaker names it


@dataclass(frozen=True)
class RadioTrack:
    """What a display shows for a radio stream; an empty title shows the station."""

    title: str = ""
    artist: str = ""
    album: str = ""
    station: str = ""


def _pipe_tags(text: str) -> RadioTrack | None:
    """Apple Music radio and SiriusXM: `[BR P|]TYPE=SNG|TITLE …|ARTIST …|ALBUM …`."""
    if "TYPE=" not in text or "|" not in text:
        return None
    tags: dict[str, str] = {}
    for part in text.split("|"):
        match = _PIPE_TAG_RE.match(part.strip())
        if match:
            tags.setdefault(match[1], match[2].strip())
    if tags.get("TYPE", "SNG").upper() != "SNG":
        return RadioTrack()
    return RadioTrack(*(_tag_text(tags.get(key, "")) for key in ("TITLE", "ARTIST", "ALBUM")))


def _tag_text(value: str) -> str:
    """A tag's text: iHeart writes `TITLE text="…" amgTrackId="…"`, others the bare text."""
    attrs = dict(_ATTR_RE.findall(value))
    return attrs["text"].replace('\\"', '"') if "text" in attrs else value


def _attributes(text: str) -> RadioTrack | None:
    """iHeartRadio: `title="…",artist="…",url="…"`, or `TITLE text="…" amgTrackId="…"`."""
    attrs = {key.lower(): value.replace('\\"', '"') for key, value in _ATTR_RE.findall(text)}
    if not attrs:
        return None
    if re.search(r'song_spot=\\?"[TF]\\?"', text) or attrs.get("song_spot", "M").upper() in {"T", "F"}:
        return RadioTrack()  # a spot (an ad or a station promo), not a song
    return RadioTrack(
        attrs.get("title") or attrs.get("text", ""), attrs.get("artist", ""), attrs.get("album", "")
    )


def _artist_dash_title(text: str) -> RadioTrack | None:
    """TuneIn and most stations: `Artist - Title` (the first ` - ` splits; titles may hold more)."""
    artist, dash, title = text.partition(" - ")
    if not dash or not artist.strip() or not title.strip():
        return None
    return RadioTrack(title.strip(), artist.strip())


def _plain(text: str) -> RadioTrack | None:
    """Anything else is the title as the station wrote it."""
    return RadioTrack(text.strip()) if text.strip() else None


PARSERS: tuple[Callable[[str], RadioTrack | None], ...] = (
    _pipe_tags,
    _attributes,
    _artist_dash_title,
    _plain,
)


def is_machine_text(text: str) -> bool:
    """A URI, a file name or a service id: never something to show a person."""
    text = text.strip()
    return bool(_URI_RE.match(text) or _FILE_RE.search(text) or _SERVICE_ID_RE.match(text))


def _shown(text: str) -> str:
    text = " ".join(text.split())
    return "" if is_machine_text(text) or _NO_SONG_RE.match(text) else text


def describe(raw: StreamMetadata) -> RadioTrack:
    """Title, artist, album and station for a radio stream, with no markup, URI or file name left."""
    # The track's dc:title names the station too, unless it describes a song (it then has a creator).
    station = _shown(raw.channel) or (_shown(raw.title) if not raw.creator else "")
    track: RadioTrack | None = None
    if raw.stream_content.strip():
        track = next(filter(None, (parse(raw.stream_content) for parse in PARSERS)), None)
    if track is None:  # Sonos Radio and others describe the song as a regular track
        track = RadioTrack(raw.title, raw.creator, raw.album) if raw.creator else RadioTrack()
    if not track.artist and raw.creator and track.title:
        track = replace(track, artist=raw.creator)  # iHeart's `TITLE text="…"` names the artist there
    title, artist, album = _shown(track.title), _shown(track.artist), _shown(track.album)
    if station and station.casefold() in (title.casefold(), artist.casefold()):
        title = ""  # a station ID (`KEXP - Where the Music Matters`): the station says its own name
    if not title:
        return RadioTrack(station=station)
    return RadioTrack(title, artist, album, station)
