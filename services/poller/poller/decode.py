"""Untrusted cover bytes to one upright RGB image: bounded per image (`ART_MAX_PIXELS`) and, across
the zone workers decoding at once, by one shared pixel budget.
"""

from __future__ import annotations

import contextlib
import io
import threading
import warnings
from collections.abc import Iterator

from PIL import Image, ImageOps

from poller.errors import ArtRejected

_DECODERS = ["JPEG", "PNG", "WEBP", "GIF", "BMP"]


def decode_art(data: bytes, max_pixels: int, largest: tuple[int, int]) -> Image.Image:
    """Decode untrusted image bytes into an upright RGB image, no larger than `largest` needs."""
    with warnings.catch_warnings():
        # Pillow only warns between MAX_IMAGE_PIXELS and twice that; every bomb must be an error.
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            image = Image.open(io.BytesIO(data), formats=_DECODERS)
            handed_over = False
            try:
                width, height = image.size
                if width * height > max_pixels:
                    raise ArtRejected(f"image of {width}x{height} pixels exceeds ART_MAX_PIXELS={max_pixels}")
                # libjpeg scales by 1/2, 1/4 or 1/8 while decoding, to the smallest size that still
                # covers `largest` (as libvips' shrink-on-load does): a 3000 px cover decodes at 750 px
                # in a fraction of the time, about as close to a full-size LANCZOS resize as JPEG q85
                # comes to its own pixels (bench/ pipeline has the time and PSNR rows).
                image.draft("RGB", largest)
                image.load()
                # In place: a copy of a large decoded image costs about as much as a resize.
                ImageOps.exif_transpose(image, in_place=True)
                if image.mode == "RGB":
                    handed_over = True  # the decoded image itself, not a copy (its file is a BytesIO)
                    return image
                return _to_rgb(image)
            finally:
                if not handed_over:
                    image.close()
        except ArtRejected:
            raise
        except (OSError, SyntaxError, ValueError, Image.DecompressionBombError, Warning) as err:
            raise ArtRejected(f"undecodable image: {err}") from err


def header_pixels(data: bytes) -> int:
    """Width times height as the image's header states them; 0 when unreadable (decoding rejects it)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)  # decode_art turns it into an error
        try:
            with Image.open(io.BytesIO(data), formats=_DECODERS) as image:
                return image.width * image.height
        except (OSError, SyntaxError, ValueError, Image.DecompressionBombError):
            return 0


def _to_rgb(image: Image.Image) -> Image.Image:
    """RGB copy of any mode, flattening transparency onto black and scaling 16-bit greys."""
    if image.mode in ("I;16", "I;16B", "I;16L", "I"):
        with image.point(lambda v: v / 256).convert("L") as grey:
            return grey.convert("RGB")
    if (image.mode == "P" and "transparency" in image.info) or image.mode in ("RGBA", "LA", "PA"):
        with (
            image.convert("RGBA") as rgba,
            Image.new("RGBA", rgba.size, (0, 0, 0, 255)) as back,
            Image.alpha_composite(back, rgba) as flat,
        ):
            return flat.convert("RGB")
    return image.convert("RGB")


class PixelBudget:
    """Caps the pixels being decoded at once, so parallel renders never need more memory than one.

    Each decode holds its image's pixel count until its renditions are made; one larger than the
    whole budget waits until it is alone.
    """

    def __init__(self, total_pixels: int) -> None:
        self.total_pixels = total_pixels
        self._free = total_pixels
        self._changed = threading.Condition()

    @contextlib.contextmanager
    def hold(self, pixels: int) -> Iterator[None]:
        """Hold pixels of the budget for the duration of the block."""
        pixels = max(0, min(pixels, self.total_pixels))
        with self._changed:
            self._changed.wait_for(lambda: self._free >= pixels)
            self._free -= pixels
        try:
            yield
        finally:
            with self._changed:
                self._free += pixels
                self._changed.notify_all()

    @property
    def free_pixels(self) -> int:
        """Pixels not held right now."""
        with self._changed:
            return self._free
