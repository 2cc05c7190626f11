"""Album-art faults as a plain HTTP client sees them at the URL soco reports."""

from __future__ import annotations

import io
import time

import pytest
import requests
import soco
from PIL import Image, ImageOps, UnidentifiedImageError

from fakesonos import Track
from fakesonos.art_responses import HUGE_BODY_BYTES
from fakesonos.covers import generated_cover
from fakesonos.faults import ArtFault
from fakesonos.model import Source

pytestmark = pytest.mark.timeout(60)

EXIF_ORIENTATION = 0x0112


@pytest.fixture
def art_url(fake_household):
    """`art_url(fault, source=...)`: the album_art soco reports for a track with that art fault."""
    speaker = fake_household("Den").speaker("den")

    def play(fault: ArtFault | None, source: Source = Source.LIBRARY) -> str:
        cover = generated_cover("Faulty", "Artist", size_pixels=64)
        speaker.set_track(Track("Faulty", "Artist", "Album", cover=cover, source=source, art_fault=fault))
        url = str(soco.SoCo(speaker.ip).get_current_track_info()["album_art"])
        assert url
        return url

    return play


def decode(body: bytes) -> tuple[str, str, tuple[int, int]]:
    with Image.open(io.BytesIO(body)) as image:
        image.load()
        return str(image.format), image.mode, image.size


@pytest.mark.parametrize(("fault", "status"), [(ArtFault.NOT_FOUND, 404), (ArtFault.SERVER_ERROR, 500)])
@pytest.mark.parametrize("source", [Source.LIBRARY, Source.STREAMING])
def test_error_statuses(art_url, fault, status, source):
    with requests.get(art_url(fault, source), timeout=5) as response:
        assert response.status_code == status


def test_redirect_loop_points_at_itself(art_url):
    url = art_url(ArtFault.REDIRECT_LOOP)

    with requests.get(url, timeout=5, allow_redirects=False) as response:
        assert response.status_code == 302
        assert url.lower().endswith(response.headers["Location"].lower())  # requests upper-cases %3a
    with pytest.raises(requests.exceptions.TooManyRedirects):
        requests.get(url, timeout=5)


def test_slow_drip_sends_a_few_bytes_a_second_and_never_trips_a_read_timeout(art_url):
    started = time.monotonic()
    with requests.get(art_url(ArtFault.SLOW_DRIP), timeout=(2, 1.5), stream=True) as response:
        assert response.status_code == 200
        promised = int(response.headers["Content-Length"])
        received = 0
        for chunk in response.iter_content(chunk_size=1):
            received += len(chunk)
            if time.monotonic() - started > 2:
                break
    assert promised > 1000
    assert 0 < received < 40


@pytest.mark.parametrize("source", [Source.LIBRARY, Source.STREAMING])
def test_stall_sends_headers_then_nothing(art_url, source):
    with requests.get(art_url(ArtFault.STALL, source), timeout=(2, 0.5), stream=True) as response:
        assert response.status_code == 200
        assert int(response.headers["Content-Length"]) > 0
        with pytest.raises(requests.exceptions.ConnectionError, match="timed out"):
            _ = response.content


@pytest.mark.parametrize(
    ("fault", "length_header"), [(ArtFault.HUGE_BODY, True), (ArtFault.HUGE_BODY_NO_LENGTH, False)]
)
def test_huge_body_streams_50_megabytes(art_url, fault, length_header):
    with requests.get(art_url(fault), timeout=5, stream=True) as response:
        assert response.status_code == 200
        assert response.headers["Content-Type"] == "image/jpeg"
        assert ("Content-Length" in response.headers) is length_header
        first = next(response.iter_content(chunk_size=4))
        total = len(first) + sum(len(chunk) for chunk in response.iter_content(chunk_size=1 << 20))
    assert first.startswith(b"\xff\xd8")
    assert total == HUGE_BODY_BYTES


def test_bomb_is_a_small_png_whose_header_claims_900_megapixels(art_url):
    with requests.get(art_url(ArtFault.BOMB), timeout=5) as response:
        assert (response.status_code, response.headers["Content-Type"]) == (200, "image/png")
        assert len(response.content) < 100_000
        with pytest.raises(Image.DecompressionBombError):
            Image.open(io.BytesIO(response.content))


def test_truncated_jpeg_opens_but_cannot_be_decoded(art_url):
    with requests.get(art_url(ArtFault.TRUNCATED_JPEG), timeout=5) as response:
        assert (response.status_code, response.headers["Content-Type"]) == (200, "image/jpeg")
        assert int(response.headers["Content-Length"]) == len(response.content)
        with Image.open(io.BytesIO(response.content)) as image:
            assert image.format == "JPEG"
            with pytest.raises(OSError, match="truncated"):
                image.load()


def test_not_an_image_is_html_labelled_as_jpeg(art_url):
    with requests.get(art_url(ArtFault.NOT_AN_IMAGE), timeout=5) as response:
        assert (response.status_code, response.headers["Content-Type"]) == (200, "image/jpeg")
        with pytest.raises(UnidentifiedImageError):
            Image.open(io.BytesIO(response.content))


@pytest.mark.parametrize(
    ("fault", "content_type", "decoded"),
    [
        (ArtFault.WRONG_CONTENT_TYPE, "application/octet-stream", ("JPEG", "RGB", (640, 640))),
        (ArtFault.CMYK_JPEG, "image/jpeg", ("JPEG", "CMYK", (640, 640))),
        (ArtFault.PALETTE_PNG, "image/png", ("PNG", "P", (640, 640))),
        (ArtFault.ALPHA_PNG, "image/png", ("PNG", "RGBA", (640, 640))),
        (ArtFault.PROGRESSIVE_JPEG, "image/jpeg", ("JPEG", "RGB", (640, 640))),
        (ArtFault.LARGE_3000, "image/jpeg", ("JPEG", "RGB", (3000, 3000))),
        (ArtFault.EXIF_ROTATED, "image/jpeg", ("JPEG", "RGB", (640, 480))),
    ],
)
def test_image_valued_faults_serve_decodable_images_of_their_kind(art_url, fault, content_type, decoded):
    with requests.get(art_url(fault), timeout=10) as response:
        assert (response.status_code, response.headers["Content-Type"]) == (200, content_type)
        assert decode(response.content) == decoded
        body = response.content
    with Image.open(io.BytesIO(body)) as image:
        if fault is ArtFault.PROGRESSIVE_JPEG:
            assert image.info.get("progressive")
        if fault is ArtFault.ALPHA_PNG:
            low, high = image.getchannel("A").getextrema()
            assert (low, high) == (0, 255)
        if fault is ArtFault.EXIF_ROTATED:
            assert image.getexif()[EXIF_ORIENTATION] == 6
            with ImageOps.exif_transpose(image) as upright:
                assert upright.size == (480, 640)


def test_image_fault_without_a_cover_still_has_an_art_url(fake_household):
    speaker = fake_household("Den").speaker("den")
    speaker.set_track(Track("No Cover", art_fault=ArtFault.PALETTE_PNG))

    url = soco.SoCo(speaker.ip).get_current_track_info()["album_art"]

    with requests.get(url, timeout=5) as response:
        assert decode(response.content)[:2] == ("PNG", "P")


def test_art_of_the_previous_track_stays_fetchable(fake_household):
    speaker = fake_household("Den").speaker("den")
    speaker.set_track(Track("First", cover=generated_cover("First", size_pixels=32)))
    first_url = soco.SoCo(speaker.ip).get_current_track_info()["album_art"]
    speaker.set_track(Track("Second", cover=generated_cover("Second", size_pixels=48)))

    with requests.get(first_url, timeout=5) as response:
        assert decode(response.content)[2] == (32, 32)
