"""What a zone is playing, decided from what the coordinator reports."""

from __future__ import annotations

import pytest

from contract.zone import EventType, Source, TransportState
from poller.nowplaying import (
    NowPlaying,
    Snapshot,
    change_type,
    classify_source,
    joined_another_group,
    now_playing,
    placeholder_label,
    seeked,
)


@pytest.mark.parametrize(
    ("track_uri", "media_uri", "expected"),
    [
        ("x-file-cifs://nas/music/a.mp3", "x-rincon-queue:RINCON_1#0", Source.LIBRARY),
        ("x-sonos-spotify:spotify%3atrack%3a1", "x-rincon-queue:RINCON_1#0", Source.STREAMING),
        ("x-rincon-mp3radio://stream.example/live", "", Source.RADIO),
        ("aac://stream.example/x", "x-sonosapi-stream:s1?sid=254", Source.RADIO),
        ("x-rincon-stream:RINCON_1", "", Source.LINE_IN),
        ("x-sonos-htastream:RINCON_1:spdif", "", Source.TV),
        ("x-sonos-vli:RINCON_1:1,airplay:abc", "", Source.AIRPLAY),
        ("", "", Source.NONE),
        ("", "x-sonosapi-stream:s1?sid=254", Source.RADIO),
    ],
)
def test_source_is_classified_from_the_track_uri_then_the_media_uri(track_uri, media_uri, expected):
    assert classify_source(track_uri, media_uri) is expected


def library(
    title: str = "Song", state: str = "PLAYING", art: str = "/getaa?s=1&amp;u=x", position: str = "0:00:00"
) -> Snapshot:
    return Snapshot(
        transport_state=state,
        track_uri="x-file-cifs://nas/a.mp3",
        media_uri="x-rincon-queue:RINCON_1#0",
        title=title,
        artist="Artist",
        album="Album",
        duration="0:03:30",
        position=position,
        album_art=art,
    )


def test_art_url_has_html_entities_unescaped():
    assert now_playing(library()).art_url == "/getaa?s=1&u=x"


def test_a_new_title_is_a_track_change():
    assert change_type(now_playing(library("A")), now_playing(library("B"))) is EventType.TRACK


def test_pausing_is_a_state_change_not_a_track_change():
    before, after = now_playing(library()), now_playing(library(state="PAUSED_PLAYBACK"))
    assert change_type(before, after) is EventType.STATE


def test_nothing_changed_means_no_event():
    assert change_type(now_playing(library()), now_playing(library())) is None


def test_the_position_moving_on_is_no_change():
    assert change_type(now_playing(library()), now_playing(library(position="0:01:00"))) is None


def test_position_and_length_are_read_in_seconds_from_the_same_reading():
    playing = now_playing(library(position="0:01:05"))
    assert (playing.position_seconds, playing.duration_seconds) == (65, 210)


def test_radio_has_no_length_so_no_progress():
    radio = Snapshot(
        "PLAYING", "x-rincon-mp3radio://s/live", "", title="News", duration="0:00:00", position="0:12:00"
    )
    assert (now_playing(radio).position_seconds, now_playing(radio).duration_seconds) == (0, 0)


@pytest.mark.parametrize(
    ("state", "position", "elapsed_ms", "expected"),
    [
        ("PLAYING", "0:00:40", 30_000, False),  # 10 s + 30 s of playing: where it should be
        ("PLAYING", "0:00:42", 30_000, False),  # within the tolerance of whole-second RelTime
        ("PLAYING", "0:02:00", 30_000, True),  # forward
        ("PLAYING", "0:00:05", 30_000, True),  # back, or the same track again
        ("PAUSED_PLAYBACK", "0:00:10", 30_000, False),  # paused: it stays put
        ("PAUSED_PLAYBACK", "0:01:30", 30_000, True),  # a seek while paused
    ],
)
def test_a_seek_is_a_jump_from_where_the_clock_says_the_track_is(state, position, elapsed_ms, expected):
    published = now_playing(library(state=state, position="0:00:10"))
    current = now_playing(library(state=state, position=position))
    assert seeked(published, 1_000_000, current, 1_000_000 + elapsed_ms) is expected


def test_a_track_that_ended_is_not_a_seek():
    published = now_playing(library(position="0:03:20"))
    assert not seeked(published, 0, now_playing(library(position="0:03:30")), 60_000)


def test_line_in_never_carries_art_from_before():
    snapshot = Snapshot(
        "PLAYING", "x-rincon-stream:RINCON_1", "", title="Audio Component", album_art="/getaa"
    )
    playing = now_playing(snapshot)
    assert playing.art_url == ""
    assert placeholder_label(playing) == "Line-in"


def test_unknown_transport_state_counts_as_stopped():
    assert now_playing(library(state="WEIRD")).state is TransportState.STOPPED


def test_idle_zone_gets_the_nothing_playing_placeholder():
    assert placeholder_label(NowPlaying(TransportState.STOPPED, Source.NONE)) == "Nothing playing"


RADIO_DIDL = (
    '<DIDL-Lite xmlns:dc="http://purl.org/dc/elements/1.1/"'
    ' xmlns:upnp="urn:schemas-upnp-org:metadata-1-0/upnp/"'
    ' xmlns:r="urn:schemas-rinconnetworks-com:metadata-1-0/"'
    ' xmlns="urn:schemas-upnp-org:metadata-1-0/DIDL-Lite/">'
    '<item id="-1" parentID="-1" restricted="true"><r:streamContent>Artist - Title</r:streamContent>'
    "<upnp:albumArtURI>/getaa?s=1&amp;u=x-rincon-mp3radio%3a%2f%2fradio</upnp:albumArtURI>"
    "<dc:title>Station</dc:title><upnp:class>object.item</upnp:class></item></DIDL-Lite>"
)


def test_radio_art_is_read_from_the_didl_when_soco_leaves_it_empty():
    track = {"uri": "x-rincon-mp3radio://radio", "title": "Title", "artist": "Artist", "album_art": "",
             "metadata": RADIO_DIDL, "duration": "0:00:00"}  # fmt: skip
    snapshot = Snapshot.from_soco(
        track, {"current_transport_state": "PLAYING"}, {"uri": "", "channel": "Station"}
    )
    playing = now_playing(snapshot)
    assert playing.art_url == "/getaa?s=1&u=x-rincon-mp3radio%3a%2f%2fradio"
    assert (playing.source, playing.station) == (Source.RADIO, "Station")


@pytest.mark.parametrize("metadata", ["", "NOT_IMPLEMENTED", "<DIDL-Lite><broken", "<DIDL-Lite/>"])
def test_missing_or_broken_didl_gives_no_art(metadata):
    track = {"uri": "x-rincon-mp3radio://radio", "metadata": metadata}
    assert Snapshot.from_soco(track, {}, {}).album_art == ""


def test_a_speaker_that_points_at_another_coordinator_has_joined_its_group():
    member = Snapshot("PLAYING", "x-rincon:RINCON_000E58C0FFEE01400", "x-rincon:RINCON_000E58C0FFEE01400")

    assert joined_another_group(member)
    assert not joined_another_group(library())
