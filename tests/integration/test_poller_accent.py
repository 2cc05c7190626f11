"""Accent colours come with each change: from the cover just decoded, from the stored renditions after
a restart (no download, no decode of the original), and fixed for placeholders.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path

import pytest
from PIL import Image

from contract.profiles import parse_profiles
from contract.zone import Source, TransportState
from fakesonos import Household
from fakesonos.model import Cover, Track
from fakesonos.upnp import album_art_path
from poller.accent import PLACEHOLDER_ACCENT
from poller.art import ArtFetcher
from poller.nowplaying import NowPlaying
from poller.pipeline import ArtPipeline
from poller.store import ArtworkStore

pytestmark = pytest.mark.timeout(60)


def red_cover() -> Cover:
    out = io.BytesIO()
    with Image.new("RGB", (800, 800), (210, 20, 30)) as image:
        image.paste((250, 250, 250), (0, 600, 800, 800))  # a white band, as a title would be
        image.save(out, format="PNG")
    return Cover(out.getvalue(), "image/png")


def pipeline(artwork_dir: Path) -> ArtPipeline:
    store = ArtworkStore(artwork_dir)
    store.prepare()
    return ArtPipeline(ArtFetcher(10_000_000, 10), store, parse_profiles("square720,jpeg720"), 40_000_000)


@pytest.fixture
def playing(fake_household: Callable[..., Household]) -> NowPlaying:
    speaker = fake_household("Living Room").speaker("living-room")
    track = Track("Red", "Artist", "Album", cover=red_cover())
    speaker.set_track(track)
    art_url = f"http://{speaker.ip}:{speaker.port}{album_art_path(speaker.view().track.uri)}"  # type: ignore[union-attr]
    return NowPlaying(TransportState.PLAYING, Source.LIBRARY, "Red", "Artist", "Album", art_url=art_url)


def test_a_rendered_cover_comes_with_its_accent(artwork_dir: Path, playing: NowPlaying):
    renditions = pipeline(artwork_dir).renditions(playing, "")

    assert renditions.accent.accent == "#d2141e"
    assert renditions.accent.text == "#ffffff"


def test_after_a_restart_the_accent_of_a_stored_cover_is_the_same(artwork_dir: Path, playing: NowPlaying):
    first = pipeline(artwork_dir).renditions(playing, "")

    again = pipeline(artwork_dir).renditions(playing, "")  # a new process: nothing in memory

    assert again.images == first.images  # nothing rendered anew
    assert again.accent.accent != PLACEHOLDER_ACCENT.accent
    red, green, blue = (int(again.accent.accent[i : i + 2], 16) for i in (1, 3, 5))
    assert red > 180
    assert max(green, blue) < 60


def test_a_placeholder_has_the_fixed_accent(artwork_dir: Path):
    idle = NowPlaying(TransportState.STOPPED, Source.NONE)

    assert pipeline(artwork_dir).renditions(idle, "").accent == PLACEHOLDER_ACCENT
