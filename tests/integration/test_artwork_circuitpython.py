"""The legacy display path end to end: the original Qualia clients' URLs, decoded by CircuitPython's loader.

The BMPs come from the poller's real renderer, are served by a real gunicorn, are fetched over HTTP
as the Qualia fetches them (the whole body into memory), and are loaded with `adafruit_imageload`
into Blinka's `displayio` objects, as the client's `code.py` does.
"""

from __future__ import annotations

import io
import urllib.request
from collections.abc import Iterator

import pytest

from contract.profiles import BUILTIN_PROFILES
from harness.gunicorn import ArtworkServer, artwork_in, make_zone, seed_zone
from harness.redis_server import RedisServer
from tests.support.artwork import write_real_rendition

displayio = pytest.importorskip("displayio", reason="adafruit-blinka-displayio is not installed")
adafruit_imageload = pytest.importorskip(
    "adafruit_imageload", reason="adafruit-circuitpython-imageload is not installed"
)
PROFILES = ("square720", "bar320x960", "square480", "round480")


@pytest.fixture(scope="module")
def server(redis_server: RedisServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ArtworkServer]:
    """gunicorn with the poller's square and bar renditions for zone `office`."""
    extra = {"ARTWORK_PROFILES": ",".join(PROFILES)}
    with artwork_in(redis_server, tmp_path_factory.mktemp("artwork-circuitpython"), extra) as running:
        yield running


def _fetch(server: ArtworkServer, path: str) -> bytes:
    with urllib.request.urlopen(f"http://127.0.0.1:{server.port}{path}", timeout=10) as response:
        assert response.status == 200
        assert response.headers["Content-Type"] == "image/bmp"
        return bytes(response.read())


@pytest.mark.timeout(60)
@pytest.mark.parametrize(
    ("path", "profile", "size"),
    [
        ("/Adafruit/artwork.bmp", "square720", (720, 720)),
        ("/Adafruit/artwork_bar.bmp", "bar320x960", (320, 960)),
        ("/zones/office/square480.bmp", "square480", (480, 480)),
        ("/zones/office/round480.bmp", "round480", (480, 480)),
    ],
)
def test_the_qualia_loader_decodes_the_legacy_bmp_at_the_panels_size(
    server: ArtworkServer, redis_url: str, path: str, profile: str, size: tuple[int, int]
):
    images = {p: write_real_rendition(server.artwork_dir, BUILTIN_PROFILES[p]) for p in PROFILES}
    seed_zone(redis_url, make_zone("office", images))

    data = _fetch(server, path)
    bitmap, palette = adafruit_imageload.load(
        io.BytesIO(data), bitmap=displayio.Bitmap, palette=displayio.Palette
    )

    assert (bitmap.width, bitmap.height) == size
    assert isinstance(palette, displayio.Palette)
    assert len(palette) <= 256
    assert data == (server.artwork_dir / images[profile].relpath).read_bytes()
