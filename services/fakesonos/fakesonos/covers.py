"""Deterministic generated album covers: a seeded colour gradient with the title drawn on it."""

from __future__ import annotations

import functools
import hashlib
import io
import textwrap
import unicodedata

from PIL import Image, ImageDraw, ImageFont, ImageOps

from fakesonos.model import Cover

DEFAULT_COVER_SIZE_PIXELS = 640
MIN_COVER_SIZE_PIXELS = 16
MAX_COVER_SIZE_PIXELS = 2048
JPEG_QUALITY = 85


@functools.lru_cache(maxsize=32)  # the demo cycles through a few tracks; keep their bytes around
def cover_jpeg(
    title: str, artist: str = "", seed: str = "", size_pixels: int = DEFAULT_COVER_SIZE_PIXELS
) -> bytes:
    """A square baseline JPEG; the same arguments always give the same bytes."""
    if not MIN_COVER_SIZE_PIXELS <= size_pixels <= MAX_COVER_SIZE_PIXELS:
        raise ValueError(f"cover size must be {MIN_COVER_SIZE_PIXELS}..{MAX_COVER_SIZE_PIXELS} pixels")
    with cover_image(title, artist, seed, (size_pixels, size_pixels)) as image:
        return encode(image, "JPEG")


def cover_image(title: str, artist: str, seed: str, size: tuple[int, int]) -> Image.Image:
    """A new RGB image of the given (width, height): seeded gradient, title and artist drawn on it."""
    digest = hashlib.sha256((seed or f"{artist}\0{title}").encode()).digest()
    top = (digest[0], digest[1], digest[2])
    bottom = (digest[3] // 2, digest[4] // 2, digest[5] // 2)  # darker below, where the text goes
    with Image.linear_gradient("L") as ramp, ramp.resize(size) as scaled:
        image = ImageOps.colorize(scaled, black=top, white=bottom)
    _draw_caption(image, title, artist)
    return image


def encode(image: Image.Image, image_format: str, **options: object) -> bytes:
    """The image's bytes in a format (JPEG at the covers' quality unless told otherwise)."""
    if image_format == "JPEG":
        options.setdefault("quality", JPEG_QUALITY)
    buffer = io.BytesIO()
    image.save(buffer, image_format, **options)
    return buffer.getvalue()


def generated_cover(
    title: str, artist: str = "", seed: str = "", size_pixels: int = DEFAULT_COVER_SIZE_PIXELS
) -> Cover:
    """`cover_jpeg` wrapped as a Cover."""
    return Cover(cover_jpeg(title, artist, seed, size_pixels), "image/jpeg")


def _draw_caption(image: Image.Image, title: str, artist: str) -> None:
    width = image.width
    margin = max(width // 16, 1)
    title_font = ImageFont.load_default(size=max(width // 12, 8))
    artist_font = ImageFont.load_default(size=max(width // 20, 6))
    draw = ImageDraw.Draw(image)
    title_text = textwrap.fill(_drawable(title), width=16, max_lines=3, placeholder="...")
    artist_text = textwrap.shorten(_drawable(artist), width=28, placeholder="...")
    stroke = max(width // 320, 1)
    draw.multiline_text(
        (margin, margin), title_text, font=title_font, fill="white", stroke_width=stroke, stroke_fill="black"
    )
    if artist_text:
        draw.text(
            (margin, image.height - margin),
            artist_text,
            font=artist_font,
            fill="white",
            anchor="ls",
            stroke_width=stroke,
            stroke_fill="black",
        )


def _drawable(value: str) -> str:
    # Pillow's built-in font has ASCII glyphs only: fold accents ("Café" -> "Cafe"), drop the rest.
    return unicodedata.normalize("NFKD", value).encode("ascii", "ignore").decode()
