"""Each source reported the way a real speaker reports it, read back through the real soco library."""

from __future__ import annotations

import io

import pytest
import requests
import soco
from PIL import Image

from fakesonos import Track
from fakesonos.covers import generated_cover
from fakesonos.model import Source
from harness.fakesonos import metadata_art

pytestmark = pytest.mark.timeout(30)

COVER = generated_cover("Cover", "Artist", size_pixels=64)


def fetch_image(url: str) -> tuple[str, tuple[int, int]]:
    with requests.get(url, timeout=5) as response:
        assert response.status_code == 200, url
        with Image.open(io.BytesIO(response.content)) as image:
            return str(image.format), image.size


def test_library_track_has_relative_getaa_art_made_absolute_by_soco(fake_household):
    speaker = fake_household("Den").speaker("den")
    speaker.set_track(Track("Song", "Artist", "Album", 210, cover=COVER))
    device = soco.SoCo(speaker.ip)

    info = device.get_current_track_info()

    assert (info["title"], info["artist"], info["album"], info["duration"]) == (
        "Song",
        "Artist",
        "Album",
        "0:03:30",
    )
    assert info["uri"].startswith("x-file-cifs://")
    assert metadata_art(info).startswith("/getaa?s=1&u=x-file-cifs%3a%2f%2f")  # lower-case hex, as real ones
    assert info["album_art"] == f"http://{speaker.ip}:1400{metadata_art(info)}"
    assert device.music_source == "LIBRARY"
    assert device.get_current_media_info() == {"uri": f"x-rincon-queue:{speaker.uid}#0", "channel": ""}
    assert fetch_image(info["album_art"]) == ("JPEG", (64, 64))


def test_streaming_track_has_absolute_art_on_the_emulators_art_server(fake_household):
    household = fake_household("Den")
    speaker = household.speaker("den")
    speaker.set_track(Track("Song", "Artist", "Album", 120, cover=COVER, source=Source.STREAMING))
    device = soco.SoCo(speaker.ip)

    info = device.get_current_track_info()

    assert (info["title"], info["artist"], info["album"], info["duration"]) == (
        "Song",
        "Artist",
        "Album",
        "0:02:00",
    )
    assert info["uri"].startswith("x-sonos-spotify:spotify%3atrack%3a")
    assert info["album_art"].startswith(f"{household.art_base_url}/image/")
    assert info["album_art"].endswith(".jpg?w=640&h=640&fmt=jpg")  # soco passes http(s) art through
    assert "&amp;h=640&amp;fmt=jpg" in info["metadata"]  # the & travels escaped inside the DIDL
    assert device.get_current_media_info() == {"uri": f"x-rincon-queue:{speaker.uid}#0", "channel": ""}
    assert fetch_image(info["album_art"]) == ("JPEG", (64, 64))


def test_radio_with_artist_title_stream_content_leaves_album_art_empty_but_keeps_it_in_the_didl(
    fake_household,
):
    speaker = fake_household("Den").speaker("den")
    speaker.set_track(Track("Hoppípolla", "Sigur Rós", cover=COVER, source=Source.RADIO, station="Café FM"))
    device = soco.SoCo(speaker.ip)

    info = device.get_current_track_info()

    assert (info["artist"], info["title"], info["album"]) == ("Sigur Rós", "Hoppípolla", "")
    assert info["duration"] == "0:00:00"
    assert info["uri"].startswith("x-sonosapi-stream:s")
    assert info["album_art"] == ""  # soco's quirk: artist came from streamContent, art is skipped
    art = metadata_art(info)
    assert art.startswith("/getaa?s=1&u=x-sonosapi-stream%3as")
    assert "%26flags%3d" in art  # the stream's own & is percent-encoded inside the u parameter
    assert device.music_source == "RADIO"
    assert device.get_current_media_info() == {"uri": info["uri"], "channel": "Café FM"}
    assert fetch_image(device.music_library.build_album_art_full_uri(art)) == ("JPEG", (64, 64))


def test_radio_with_tagged_stream_content_gives_title_artist_and_album(fake_household):
    speaker = fake_household("Den").speaker("den")
    speaker.set_track(
        Track(
            "ignored",
            source=Source.RADIO,
            station="Apple Music Radio",
            stream_content="TYPE=SNG|TITLE Couleurs|ARTIST M83|ALBUM Saturdays = Youth",
        )
    )

    info = soco.SoCo(speaker.ip).get_current_track_info()

    assert (info["title"], info["artist"], info["album"], info["album_art"]) == (
        "Couleurs",
        "M83",
        "Saturdays = Youth",
        "",
    )


def test_radio_without_now_playing_shows_the_station_and_its_art(fake_household):
    speaker = fake_household("Den").speaker("den")
    speaker.set_track(
        Track(
            "",
            cover=COVER,
            source=Source.RADIO,
            station="BBC Radio 6",
            uri="x-rincon-mp3radio://radio.example/6",
        )
    )
    device = soco.SoCo(speaker.ip)

    info = device.get_current_track_info()

    assert (info["title"], info["artist"]) == ("BBC Radio 6", "")
    assert info["album_art"].startswith(f"http://{speaker.ip}:1400/getaa?s=1&u=x-rincon-mp3radio%3a")
    assert device.music_source == "RADIO"
    assert device.get_current_media_info() == {
        "uri": "x-rincon-mp3radio://radio.example/6",
        "channel": "BBC Radio 6",
    }
    assert fetch_image(info["album_art"]) == ("JPEG", (64, 64))


def test_radio_without_art_has_no_album_art_uri(fake_household):
    speaker = fake_household("Den").speaker("den")
    speaker.set_track(Track("", source=Source.RADIO, station="Plain FM"))

    info = soco.SoCo(speaker.ip).get_current_track_info()

    assert (info["title"], info["album_art"], metadata_art(info)) == ("Plain FM", "", "")


def test_line_in_on_old_firmware_reports_nothing_but_the_stream_uri(fake_household):
    speaker = fake_household("Den").speaker("den")
    speaker.set_track(Track("", source=Source.LINE_IN))
    device = soco.SoCo(speaker.ip)

    info = device.get_current_track_info()

    assert info["uri"] == f"x-rincon-stream:{speaker.uid}"
    assert info["metadata"] == "NOT_IMPLEMENTED"
    assert (info["title"], info["artist"], info["album_art"]) == ("", "", "")
    assert device.music_source == "LINE_IN"
    assert device.is_playing_line_in is True


def test_line_in_on_newer_firmware_is_titled_audio_component(fake_household):
    speaker = fake_household("Den").speaker("den")
    speaker.set_track(Track("Audio Component", cover=COVER, source=Source.LINE_IN))  # line-in never has art
    device = soco.SoCo(speaker.ip)

    info = device.get_current_track_info()

    assert (info["title"], info["artist"], info["album_art"]) == ("Audio Component", "", "")
    assert device.get_current_media_info()["uri"] == f"x-rincon-stream:{speaker.uid}"


def test_tv_reports_the_home_theatre_stream(fake_household):
    speaker = fake_household("Den").speaker("den")
    speaker.set_track(Track("", source=Source.TV))
    device = soco.SoCo(speaker.ip)

    info = device.get_current_track_info()

    assert info["uri"] == f"x-sonos-htastream:{speaker.uid}:spdif"
    assert (info["title"], info["duration"], info["album_art"]) == ("", "", "")
    assert device.music_source == "TV"
    assert device.is_playing_tv is True
    assert device.get_current_media_info() == {"uri": info["uri"], "channel": ""}


def test_airplay_reports_track_fields_and_getaa_art(fake_household):
    speaker = fake_household("Den").speaker("den")
    speaker.set_track(Track("Song", "Artist", "Album", 200, cover=COVER, source=Source.AIRPLAY))
    device = soco.SoCo(speaker.ip)

    info = device.get_current_track_info()

    assert (info["title"], info["artist"], info["album"]) == ("Song", "Artist", "Album")
    assert info["uri"].startswith(f"x-sonos-vli:{speaker.uid}:1,airplay:")
    assert device.music_source == "AIRPLAY"
    assert fetch_image(info["album_art"]) == ("JPEG", (64, 64))


def test_nothing_queued_reports_empty_fields_and_source_none(fake_household):
    speaker = fake_household("Den").speaker("den")
    speaker.set_track(Track("Song", cover=COVER))
    speaker.set_track(None)
    device = soco.SoCo(speaker.ip)

    info = device.get_current_track_info()

    assert {
        k: info[k] for k in ("title", "artist", "album", "album_art", "uri", "metadata")
    } == dict.fromkeys(("title", "artist", "album", "album_art", "uri", "metadata"), "")
    assert device.music_source == "NONE"
    assert device.get_current_transport_info()["current_transport_state"] == "STOPPED"
    assert device.get_current_media_info() == {"uri": "", "channel": ""}


def test_group_member_reports_x_rincon_for_every_source(fake_household):
    household = fake_household("Living Room", "Kitchen")
    living, kitchen = household.speaker("living-room"), household.speaker("kitchen")
    household.group(living, [kitchen])
    kitchen.set_track(Track("", source=Source.RADIO, station="Jazz"))  # a member acts on its coordinator

    member, coordinator = soco.SoCo(kitchen.ip), soco.SoCo(living.ip)

    assert member.get_current_track_info()["uri"] == f"x-rincon:{living.uid}"
    assert member.get_current_media_info() == {"uri": f"x-rincon:{living.uid}", "channel": ""}
    assert coordinator.get_current_media_info()["channel"] == "Jazz"
    assert member.get_current_transport_info()["current_transport_state"] == "PLAYING"


@pytest.mark.parametrize("source", [Source.STREAMING, Source.RADIO, Source.AIRPLAY])
def test_non_ascii_and_markup_survive_every_source(fake_household, source):
    speaker = fake_household("Den").speaker("den")
    speaker.set_track(Track("Ñandú <&>", "Zoë & Björk", "Ágætis", source=source, station="Rádio Ü"))

    info = soco.SoCo(speaker.ip).get_current_track_info()

    assert (info["title"], info["artist"]) == ("Ñandú <&>", "Zoë & Björk")
