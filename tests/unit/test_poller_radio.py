"""Each radio provider's metadata becomes title, artist, album and station, with nothing raw left."""

from __future__ import annotations

import pytest

from contract.zone import Source, TransportState
from poller.nowplaying import NowPlaying, Snapshot, now_playing, placeholder_label
from poller.pipeline import caption_of
from poller.radio import RadioTrack, StreamMetadata, describe, is_machine_text
from poller.render import Caption
from tests.support.radio import RadioCase, radio_cases


@pytest.mark.parametrize("case", radio_cases(), ids=lambda c: c.name)
def test_each_providers_metadata_shows_what_a_person_expects(case: RadioCase):
    track = {"uri": case.uri, "metadata": case.metadata, "duration": "0:00:00"}
    snapshot = Snapshot.from_soco(track, {"current_transport_state": "PLAYING"}, {"channel": case.channel})

    playing = now_playing(snapshot)

    shown = {
        "title": playing.title,
        "artist": playing.artist,
        "album": playing.album,
        "station": playing.station,
    }
    assert shown == case.expect


@pytest.mark.parametrize(
    "text",
    [
        "station.m3u8",
        "live.pls",
        "http://stream.example/live.aac",
        "x-sonosapi-stream:s12345?sid=254",
        "s12345",
        "RINCON_000E58C0FFEE01400",
    ],
)
def test_uris_file_names_and_service_ids_are_machine_text(text):
    assert is_machine_text(text)


@pytest.mark.parametrize("text", ["Maria También", "7.15.17 LA", "Saturdays = Youth", "Mr. Brightside"])
def test_ordinary_titles_are_not_machine_text(text):
    assert not is_machine_text(text)


def test_a_title_is_never_raw_markup_even_from_an_unknown_provider():
    raw = StreamMetadata(stream_content='TITLE text="Song" amgTrackId="123"', channel="Station")

    assert describe(raw) == RadioTrack("Song", "", "", "Station")


def test_radio_with_nothing_to_show_gets_the_station_or_radio_placeholder():
    by_file = Snapshot("PLAYING", "x-rincon-mp3radio://host/live.m3u8", "", channel="live.m3u8")

    assert placeholder_label(now_playing(by_file)) == "Radio"


def test_a_radio_songs_caption_names_its_station_where_an_album_would_be():
    song = NowPlaying(
        TransportState.PLAYING, Source.RADIO, "Maria También", "Khruangbin", station="Radio Paradise"
    )
    show = NowPlaying(TransportState.PLAYING, Source.RADIO, "Morning Show", album="Weekdays", station="BBC 6")
    station_only = NowPlaying(TransportState.PLAYING, Source.RADIO, station="Radio Paradise")
    track = NowPlaying(TransportState.PLAYING, Source.LIBRARY, "Blue in Green", "Miles Davis", "Kind of Blue")

    assert caption_of(song) == Caption("Maria También", "Khruangbin", "Radio Paradise")
    assert caption_of(show) == Caption("Morning Show", "", "Weekdays")
    assert caption_of(station_only) == Caption("Radio Paradise", "", "")
    assert caption_of(track) == Caption("Blue in Green", "Miles Davis", "Kind of Blue")
