"""A desktop stand-in for CircuitPython's `jpegio` core module, built on Pillow.

Same calls as on the board: `JpegDecoder().open(buffer)` returns (width, height) and `decode(bitmap)`
fills a 16-bit displayio Bitmap with RGB565 values, byte-swapped as `Colorspace.RGB565_SWAPPED`
expects. Like the board's decoder (TJpgDec) it refuses progressive JPEG.
"""

import array
import io
import sys

import bitmaptools
from PIL import Image, ImageChops


def _table(function):
    return [function(v) for v in range(256)]


# RGB565 as bytes: high = RRRRRGGG, low = GGGBBBBB. Each is the sum of two bit-disjoint parts.
_RED_HIGH = _table(lambda v: v & 0xF8)
_GREEN_HIGH = _table(lambda v: v >> 5)
_GREEN_LOW = _table(lambda v: (v & 0x1C) << 3)
_BLUE_LOW = _table(lambda v: v >> 3)


class JpegDecoder:
    """Decodes one JPEG at a time into a displayio Bitmap."""

    def __init__(self):
        self._image = None

    def open(self, data):
        """Read the header of a JPEG in a buffer, bytes or file; returns (width, height)."""
        source = data if hasattr(data, "read") else io.BytesIO(bytes(data))
        image = Image.open(source, formats=["JPEG"])
        if image.info.get("progressive") or image.info.get("progression"):
            raise ValueError("progressive JPEG is not supported")
        self._image = image
        return image.size

    def decode(self, bitmap, scale=0, x=0, y=0):
        """Decode the opened JPEG into the bitmap (scale and offsets as on the board: 0, 0, 0 here)."""
        if scale or x or y:
            raise NotImplementedError("the stand-in decodes at full size to (0, 0) only")
        with self._image.convert("RGB") as rgb:
            red, green, blue = rgb.split()
        high = ImageChops.add(red.point(_RED_HIGH), green.point(_GREEN_HIGH))
        low = ImageChops.add(green.point(_GREEN_LOW), blue.point(_BLUE_LOW))
        # [high, low] per pixel is big-endian RGB565: read as native (little-endian) 16-bit words,
        # that is each value byte-swapped, which RGB565_SWAPPED undoes.
        with Image.merge("LA", (high, low)) as pairs:
            _blit(bitmap, pairs)
        self._image.close()
        self._image = None


def _blit(bitmap, pairs):
    """Put the values into the bitmap a row at a time (the board's decoder holds no copy either):
    straight into Blinka's storage where it is the known one (each row's 16-bit values
    little-endian from the row's first byte), else value by value."""
    words = getattr(bitmap, "_data", None)
    stride = getattr(bitmap, "_stride", 0)
    width = bitmap.width
    fast = (
        getattr(bitmap, "_bits_per_value", 0) == 16
        and isinstance(words, array.array)
        and stride * words.itemsize >= width * 2
        and sys.byteorder == "little"
    )
    memory = memoryview(words).cast("B") if fast else None
    step = stride * words.itemsize if fast else 0
    for y in range(bitmap.height):
        row = pairs.crop((0, y, width, y + 1)).tobytes()
        if memory is not None:
            memory[y * step : y * step + width * 2] = row
        else:
            values = array.array("H")
            values.frombytes(row)
            bitmaptools.arrayblit(bitmap, values, 0, y, width, y + 1)
