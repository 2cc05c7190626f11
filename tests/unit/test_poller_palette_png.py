"""Palette PNGs for e-ink panels: any decoder reads back exactly the pixels and colours written."""

from __future__ import annotations

import io
import struct
import zlib

import pytest
from PIL import Image

from poller import palette_png

SEVEN = [(0, 0, 0), (255, 255, 255), (0, 255, 0), (0, 0, 255), (255, 0, 0), (255, 255, 0), (255, 128, 0)]


def _palette_image(width: int, height: int) -> Image.Image:
    image = Image.new("P", (width, height))
    image.putpalette([channel for colour in SEVEN for channel in colour])
    image.putdata([(x * 3 + y * 5) % len(SEVEN) for y in range(height) for x in range(width)])
    return image


def _idat_rows(data: bytes, height: int) -> list[bytes]:
    position, idat = 8, b""
    while position < len(data):
        (length,) = struct.unpack(">I", data[position : position + 4])
        if data[position + 4 : position + 8] == b"IDAT":
            idat += data[position + 8 : position + 8 + length]
        position += 12 + length
    raw = zlib.decompress(idat)
    stride = len(raw) // height
    return [raw[y * stride : (y + 1) * stride] for y in range(height)]


@pytest.mark.parametrize("size", [(600, 448), (5, 3), (1, 1)])
def test_pillow_reads_back_the_same_indices_and_palette(size):
    image = _palette_image(*size)
    with Image.open(io.BytesIO(palette_png.encode(image))) as decoded:
        decoded.load()
        assert decoded.format == "PNG"
        assert decoded.size == size
        assert decoded.mode == "P"
        assert decoded.tobytes() == image.tobytes()  # odd widths pad the last byte of each row
        assert decoded.getpalette() == image.getpalette()


def test_every_row_is_written_unfiltered():
    image = _palette_image(64, 16)
    rows = _idat_rows(palette_png.encode(image), 16)
    assert {row[0] for row in rows} == {0}


def test_a_dithered_panel_image_is_smaller_than_pillows_own_png():
    with (
        Image.effect_noise((400, 240), 64) as noise,
        noise.convert("RGB") as grey,
        Image.new("P", (1, 1)) as target,
    ):
        target.putpalette([channel for colour in SEVEN for channel in colour])
        dithered = grey.quantize(palette=target, dither=Image.Dither.FLOYDSTEINBERG)
    pillows = io.BytesIO()
    dithered.save(pillows, format="PNG", compress_level=3)
    assert len(palette_png.encode(dithered)) < len(pillows.getvalue())


@pytest.mark.parametrize(
    "image",
    [Image.new("RGB", (4, 4)), Image.new("P", (4, 4))],
    ids=["rgb", "256-colour palette"],
)
def test_anything_but_a_small_palette_image_is_refused(image):
    with pytest.raises(ValueError, match="at most 16 colours"):
        palette_png.encode(image)
