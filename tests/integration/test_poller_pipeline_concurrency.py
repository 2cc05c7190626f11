"""The art pipeline called from several zone workers at once (real downloads from fakesonos, real files)."""

from __future__ import annotations

import contextlib
import io
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from PIL import Image

from contract.profiles import parse_profiles
from contract.zone import Source, TransportState
from fakesonos import Household
from fakesonos.model import Cover, Track
from fakesonos.upnp import album_art_path
from poller.art import ArtFetcher
from poller.decode import PixelBudget
from poller.housekeeping import sweep
from poller.nowplaying import NowPlaying
from poller.pipeline import ArtPipeline
from poller.store import ArtworkStore

pytestmark = pytest.mark.timeout(60)

PROFILES = parse_profiles("square720,bar320x960,jpeg720")
COVER_SIDE = 1500  # PNG: decoded at full size, 2.25 megapixels each


class MeasuredBudget(PixelBudget):
    """The real budget, noting each hold and the most pixels held at once."""

    def __init__(self, total_pixels: int) -> None:
        super().__init__(total_pixels)
        self.holds: list[int] = []
        self.peak_pixels = 0

    @contextlib.contextmanager
    def hold(self, pixels: int) -> Iterator[None]:
        with super().hold(pixels):
            self.holds.append(pixels)
            self.peak_pixels = max(self.peak_pixels, self.total_pixels - self.free_pixels)
            yield


def png_cover(colour: tuple[int, int, int]) -> Cover:
    out = io.BytesIO()
    with Image.new("RGB", (COVER_SIDE, COVER_SIDE), colour) as image:
        image.save(out, format="PNG")
    return Cover(out.getvalue(), "image/png")


@pytest.fixture
def served(fake_household: Callable[..., Household]) -> Callable[[Track], NowPlaying]:
    """Puts a track on a fake speaker and returns what the poller would have read of it."""
    speaker = fake_household("Living Room").speaker("living-room")

    def play(track: Track) -> NowPlaying:
        speaker.set_track(track)
        return NowPlaying(
            TransportState.PLAYING,
            Source.LIBRARY,
            track.title,
            track.artist,
            track.album,
            art_url=f"http://{speaker.ip}:{speaker.port}{album_art_path(track.uri)}",
        )

    return play


def pipeline(artwork_dir: Path, budget: PixelBudget) -> ArtPipeline:
    store = ArtworkStore(artwork_dir)
    store.prepare()
    return ArtPipeline(ArtFetcher(10_000_000, 10), store, PROFILES, 40_000_000, budget)


def test_parallel_renders_hold_no_more_pixels_than_the_budget_and_all_finish(
    served: Callable[[Track], NowPlaying], artwork_dir: Path
):
    budget = MeasuredBudget(2 * COVER_SIDE * COVER_SIDE)  # room for two of the four at once
    art = pipeline(artwork_dir, budget)
    playing = [
        served(Track(f"Song {n}", "Artist", f"Album {n}", cover=png_cover((40 * n, 90, 200 - 40 * n))))
        for n in range(4)
    ]
    results: dict[int, dict[str, str]] = {}

    def render(n: int) -> None:
        results[n] = art.renditions(playing[n], "http://unused").images

    threads = [threading.Thread(target=render, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)

    assert sorted(results) == [0, 1, 2, 3]
    assert len({images["square720"] for images in results.values()}) == 4, "four different covers"
    assert all((artwork_dir / path).is_file() for images in results.values() for path in images.values())
    assert budget.holds == [COVER_SIDE * COVER_SIDE] * 4, "each decode holds its pixels"
    assert budget.peak_pixels <= budget.total_pixels
    assert budget.free_pixels == budget.total_pixels


def test_art_swept_away_just_before_a_zone_reserved_it_is_rendered_again(
    served: Callable[[Track], NowPlaying], artwork_dir: Path
):
    art = pipeline(artwork_dir, PixelBudget(40_000_000))
    playing = served(Track("Swept", "Artist", "Album", cover=png_cover((10, 120, 60))))
    first = art.renditions(playing, "http://unused").images
    reserved: list[frozenset[str]] = []

    def sweep_then_reserve(relpaths: frozenset[str]) -> None:
        # A cache sweep that finished a moment before this zone's reservation: nothing was kept.
        sweep(artwork_dir, max_bytes=0, max_temp_age_seconds=300, keep=set(), now=0)
        reserved.append(relpaths)

    again = art.renditions(playing, "http://unused", sweep_then_reserve).images

    assert again == first
    assert set(again.values()) <= reserved[0], "every name is reserved before it is looked for"
    assert all((artwork_dir / path).is_file() for path in again.values()), "rendered again, not assumed"
