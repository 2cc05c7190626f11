"""Colours taken from a cover, for a display's background, letterbox or LEDs: pure functions."""

from __future__ import annotations

from dataclasses import dataclass

from PIL import Image

RGB = tuple[int, int, int]

_SAMPLE_SIDE_PIXELS = 48  # a box-filtered thumbnail this size keeps a cover's colour areas
_PALETTE_COLOURS = 8
_NEAR_BLACK_MAX = 40  # no channel brighter than this: a background, not a colour
_NEAR_WHITE_MIN = 215  # no channel darker than this
_SATURATION_WEIGHT = 0.25  # a grey area must be four times as large to beat a fully saturated one
_MUTED_SHARE = 0.3  # the dark variant keeps this share of each channel
_BLACK, _WHITE = (0, 0, 0), (255, 255, 255)


@dataclass(frozen=True)
class Accent:
    """`#rrggbb` colours of one cover: its dominant colour, readable text on it, a dark variant."""

    accent: str
    text: str
    muted: str


# For placeholders (nothing playing, radio without art, a cover that failed): calm and fixed.
PLACEHOLDER_ACCENT = Accent("#3c4150", "#ffffff", "#121318")


def accent_of(image: Image.Image) -> Accent:
    """The accent colours of an RGB image (sampled from a small box-filtered copy)."""
    with (
        image.resize((_SAMPLE_SIDE_PIXELS, _SAMPLE_SIDE_PIXELS), Image.Resampling.BOX) as sample,
        sample.quantize(_PALETTE_COLOURS, method=Image.Quantize.MEDIANCUT) as quantized,
    ):
        palette = quantized.getpalette() or []
        counts = quantized.getcolors(_PALETTE_COLOURS) or []
    # A palette image's colours are palette indices.
    colours = [(count, _palette_rgb(palette, index)) for count, index in counts if isinstance(index, int)]
    return accent_for(dominant_colour(colours))


def accent_for(rgb: RGB) -> Accent:
    """The accent set of one colour."""
    muted = (round(rgb[0] * _MUTED_SHARE), round(rgb[1] * _MUTED_SHARE), round(rgb[2] * _MUTED_SHARE))
    return Accent(hex_colour(rgb), hex_colour(text_colour(rgb)), hex_colour(muted))


def dominant_colour(colours: list[tuple[int, RGB]]) -> RGB:
    """The colour covering most of the cover, weighted by saturation; near-black and near-white
    count only when nothing else is left (a black-and-white cover stays neutral).
    """
    if not colours:
        return _BLACK
    vivid = [(count, rgb) for count, rgb in colours if not _near_black(rgb) and not _near_white(rgb)]
    pool = vivid or colours
    return max(pool, key=lambda item: item[0] * (_SATURATION_WEIGHT + saturation(item[1])))[1]


def text_colour(background: RGB) -> RGB:
    """Black or white, whichever contrasts more with the background (never below 4.58:1)."""
    return _WHITE if contrast_ratio(_WHITE, background) >= contrast_ratio(_BLACK, background) else _BLACK


def contrast_ratio(a: RGB, b: RGB) -> float:
    """WCAG 2 contrast ratio of two sRGB colours, from 1 to 21."""
    lighter, darker = sorted((relative_luminance(a), relative_luminance(b)), reverse=True)
    return (lighter + 0.05) / (darker + 0.05)


def relative_luminance(rgb: RGB) -> float:
    """WCAG 2 relative luminance of an sRGB colour."""

    def linear(channel: int) -> float:
        c = channel / 255
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (linear(c) for c in rgb)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def saturation(rgb: RGB) -> float:
    """HSV saturation, 0 (grey) to 1."""
    high = max(rgb)
    return 0.0 if high == 0 else (high - min(rgb)) / high


def hex_colour(rgb: RGB) -> str:
    """`#rrggbb`."""
    return "#{:02x}{:02x}{:02x}".format(*rgb)


def _near_black(rgb: RGB) -> bool:
    return max(rgb) <= _NEAR_BLACK_MAX


def _near_white(rgb: RGB) -> bool:
    return min(rgb) >= _NEAR_WHITE_MIN


def _palette_rgb(palette: list[int], index: int) -> RGB:
    return palette[3 * index], palette[3 * index + 1], palette[3 * index + 2]
