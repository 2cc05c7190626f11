"""Radio metadata of every provider, served by fakesonos in the speakers' own SOAP shapes to the real
soco, reaches the display as title, artist, album and station with nothing raw left."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from fakesonos import Household, Source, Track
from poller.config import SpeakerAddress
from poller.nowplaying import now_playing
from poller.sonos import read_snapshot, resolve_zones, speakers_from_seeds
from tests.support.radio import RadioCase, radio_cases

pytestmark = pytest.mark.timeout(30)


@pytest.mark.parametrize("case", radio_cases(), ids=lambda c: c.name)
def test_each_provider_format_shows_as_a_person_expects(
    fake_household: Callable[..., Household], case: RadioCase
):
    household = fake_household("Radio Room")
    speaker = household.speaker("radio-room")
    (zone,) = resolve_zones(speakers_from_seeds([SpeakerAddress(speaker.ip, speaker.port)]), (), "")
    speaker.set_track(
        Track("", source=Source.RADIO, uri=case.uri, station=case.channel, metadata=case.metadata)
    )

    playing = now_playing(read_snapshot(zone))

    assert playing.source.value == "radio"
    assert {
        "title": playing.title,
        "artist": playing.artist,
        "album": playing.album,
        "station": playing.station,
    } == (case.expect)
