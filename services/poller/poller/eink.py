"""E-ink renditions: every pixel one of the panel's colours, Floyd-Steinberg dithered by Pillow."""

from __future__ import annotations

from collections.abc import Sequence

from PIL import Image, ImageStat

from contract.profiles import PALETTES

RGB = tuple[int, int, int]

# What the panels actually show for each colour index (Pimoroni's `inky` 2.6.0, SATURATED_PALETTE):
# dull next to the names in PALETTES. Dithering aims at a blend of the two, as `inky.set_image`
# does at its default saturation of 0.5, so the error diffusion works with colours the panel has.
_SHOWN: dict[str, tuple[RGB, ...]] = {
    "inky7": (
        (57, 48, 57), (255, 255, 255), (58, 91, 70), (61, 59, 94),
        (156, 72, 75), (208, 190, 71), (177, 106, 73),
    ),
    "spectra6": ((0, 0, 0), (161, 164, 165), (208, 190, 71), (156, 72, 75), (61, 59, 94), (58, 91, 70)),
}  # fmt: skip
_SHOWN_SHARE = 0.5
# A panel's pigments are weak: covers are lifted first, or their colours dither into grey.
_COLOUR_LIFT = 1.5
_CONTRAST_LIFT = 1.15
_LUMA = (0.299, 0.587, 0.114)  # ITU-R 601-2, as Pillow's convert("L")


def dither_target(palette: str) -> tuple[RGB, ...]:
    """The colours dithering aims at: halfway between each colour's name and what the panel shows."""
    pairs = zip(_SHOWN[palette], PALETTES[palette], strict=True)
    return tuple(_blend(shown, named) for shown, named in pairs)


def _blend(shown: RGB, named: RGB) -> RGB:
    r, g, b = (round(_SHOWN_SHARE * s + (1 - _SHOWN_SHARE) * n) for s, n in zip(shown, named, strict=True))
    return r, g, b


Lift = tuple[float, ...]  # a 3x4 affine colour matrix, as Image.convert("RGB", matrix) takes it


def lift_matrix(band_means: Sequence[float]) -> Lift:
    """One affine colour transform: saturation times _COLOUR_LIFT, then contrast times _CONTRAST_LIFT
    about the mean grey (what ImageEnhance.Color then .Contrast do, in one pass over the pixels).
    """
    mean_grey = sum(w * m for w, m in zip(_LUMA, band_means, strict=True))
    rows = []
    for band in range(3):
        # Saturation: grey + lift * (colour - grey), grey the luma of the pixel.
        weights = [(1 - _COLOUR_LIFT) * w + (_COLOUR_LIFT if i == band else 0.0) for i, w in enumerate(_LUMA)]
        rows += [_CONTRAST_LIFT * w for w in weights] + [(1 - _CONTRAST_LIFT) * mean_grey]
    return tuple(rows)


def cover_lift(cover: Image.Image) -> Lift:
    """The lift a cover's colours need on a panel, about the cover's own mean grey."""
    return lift_matrix(ImageStat.Stat(cover).mean)


def apply_lift(image: Image.Image, lift: Lift) -> Image.Image:
    """An RGB image with the lift applied: before dithering, or a panel's weak colours turn grey."""
    return image.convert("RGB", lift)


def lifted_colour(colour: RGB, lift: Lift) -> RGB:
    """One colour lifted as `apply_lift` lifts pixels, for what is drawn beside a lifted cover."""
    with Image.new("RGB", (1, 1), colour) as pixel, pixel.convert("RGB", lift) as out:
        r, g, b = out.getpixel((0, 0))  # type: ignore[misc]
    return r, g, b


def to_panel(image: Image.Image, palette: str) -> Image.Image:
    """A lifted RGB image as a palette image of exactly the panel's colours, in the panel's index order."""
    named = PALETTES[palette]
    with Image.new("P", (1, 1)) as target:
        target.putpalette([channel for colour in dither_target(palette) for channel in colour])
        dithered = image.quantize(palette=target, dither=Image.Dither.FLOYDSTEINBERG)
    # Same indices, the panel's own colour names: the file says which colour, the panel shows it.
    dithered.putpalette([channel for colour in named for channel in colour])
    return dithered
