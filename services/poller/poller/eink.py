"""E-ink renditions: every pixel one of the panel's colours, Floyd-Steinberg dithered by Pillow."""

from __future__ import annotations

from PIL import Image, ImageEnhance

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


def dither_target(palette: str) -> tuple[RGB, ...]:
    """The colours dithering aims at: halfway between each colour's name and what the panel shows."""
    pairs = zip(_SHOWN[palette], PALETTES[palette], strict=True)
    return tuple(_blend(shown, named) for shown, named in pairs)


def _blend(shown: RGB, named: RGB) -> RGB:
    r, g, b = (round(_SHOWN_SHARE * s + (1 - _SHOWN_SHARE) * n) for s, n in zip(shown, named, strict=True))
    return r, g, b


def to_panel(image: Image.Image, palette: str) -> Image.Image:
    """An RGB image as a palette image of exactly the panel's colours, in the panel's index order."""
    named = PALETTES[palette]
    with (
        ImageEnhance.Color(image).enhance(_COLOUR_LIFT) as coloured,
        ImageEnhance.Contrast(coloured).enhance(_CONTRAST_LIFT) as lifted,
        Image.new("P", (1, 1)) as target,
    ):
        target.putpalette([channel for colour in dither_target(palette) for channel in colour])
        dithered = lifted.quantize(palette=target, dither=Image.Dither.FLOYDSTEINBERG)
    # Same indices, the panel's own colour names: the file says which colour, the panel shows it.
    dithered.putpalette([channel for colour in named for channel in colour])
    return dithered
