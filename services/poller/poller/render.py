"""Display renditions from one decoded cover: one encode per profile (decoding is in `poller.decode`)."""

from __future__ import annotations

import hashlib
import io
import math
import zlib
from collections.abc import Iterable
from dataclasses import dataclass

from PIL import Image, ImageChops, ImageDraw, ImageOps

from contract.profiles import Profile
from poller import palette_png
from poller.accent import PLACEHOLDER_ACCENT, RGB, Accent
from poller.eink import Lift, apply_lift, cover_lift, lifted_colour, to_panel
from poller.text import layout_line, wrap_lines

_BAR_LANDSCAPE = (960, 320)  # the bar panel's framebuffer is portrait; the layout is drawn landscape
_JPEG_QUALITY = 85
# The palette is chosen from an evenly decimated sample of the cover of about this many pixels
# (nearest neighbour keeps the colour distribution; a smoothing filter would lose the extremes),
# once per cover, and shared by every palette profile; each profile's pixels are then mapped to
# their nearest palette colour (bench/ pipeline compares it with a full quantization per profile).
_PALETTE_SAMPLE_PIXELS = 180 * 180
_DETAIL_SHARE = 8  # of a palette's colours, this share goes to small details (see _cover_colours)
_DETAIL_MIN_LEVELS = 24  # a pixel this close to a palette colour in every channel needs none of its own
# A fit that shrinks by this much or more first averages whole blocks of pixels (`reduce`), then
# resamples the rest with LANCZOS: cheaper than LANCZOS all the way and indistinguishable once
# the image is down to 64 colours (bench/ pipeline has the PSNR row).
_REDUCING_GAP = 1.1
_BAR_TEXT = ((255, 255, 255), (200, 200, 200), (150, 150, 150))  # title, artist, album
_BAR_TEXT_POINTS = (44, 34, 28)
_TITLE_LEADING = 8  # between the two lines of a long title, at the bar's scale
# A panel layout puts the text beside the art only where this many pixels are left for it.
_MIN_TEXT_WIDTH = 240


@dataclass(frozen=True)
class Caption:
    """Text drawn by layouts that show it (the bar composite)."""

    title: str = ""
    artist: str = ""
    album: str = ""

    def as_key(self) -> str:
        """Stable text for content addressing."""
        return f"{self.title}\n{self.artist}\n{self.album}"


def shows_caption(profile: Profile) -> bool:
    """Whether the profile's layout draws the title, artist and album."""
    if profile.layout == "panel":
        return profile.width - profile.height >= _MIN_TEXT_WIDTH
    return profile.layout == "bar"


def caption_key(profile: Profile, caption: Caption) -> str:
    """Caption text that affects a profile's output; empty for art-only layouts."""
    return caption.as_key() if shows_caption(profile) else ""


def placeholder_art(label: str, size: tuple[int, int] = (720, 720)) -> Image.Image:
    """A generated placeholder: a calm gradient keyed by the label, with the label in the middle."""
    seed = hashlib.sha256(label.encode()).digest()
    top, bottom = (seed[0] // 3, seed[1] // 3, seed[2] // 3 + 40), (seed[3] // 6, seed[4] // 6, seed[5] // 6)
    image = Image.linear_gradient("L").resize(size)
    try:
        colour = ImageOps.colorize(image, top, bottom)
    finally:
        image.close()
    margin = size[0] // 12
    line = layout_line(label, max(16, size[1] // 14), size[0] - 2 * margin)
    x = (size[0] - line.width) // 2
    line.draw(ImageDraw.Draw(colour), x, size[1] // 2 - line.size * 2 // 3, x + line.width, (235, 235, 235))
    return colour


class _Fits:
    """Cropped-and-scaled copies of one base image, made once per size and shared between profiles."""

    def __init__(self, base: Image.Image) -> None:
        self._base = base
        self._made: dict[tuple[int, int], Image.Image] = {}
        self._lifted: dict[tuple[int, int], Image.Image] = {}  # for e-ink, made from any larger fit
        self._lift: Lift | None = None
        self._palettes: dict[int, tuple[RGB, ...]] = {}

    @property
    def base_size(self) -> tuple[int, int]:
        """The size of the image every fit is made from."""
        return self._base.size

    @property
    def lift(self) -> Lift:
        """The e-ink lift of this cover, the same for every panel and for what is drawn beside it."""
        if self._lift is None:
            self._lift = cover_lift(self._base)
        return self._lift

    def get(self, size: tuple[int, int]) -> Image.Image:
        """The base fitted to size (owned by this object: copy before changing it)."""
        if size not in self._made:
            # The first fit is the largest (render_all makes them largest first), and the one a 720
            # panel shows: LANCZOS. Smaller ones take BICUBIC, Pillow's own `thumbnail` default: on
            # the bench covers 45-51 dB against LANCZOS, above the 40 dB the bench holds jpeg720 to,
            # in two thirds of the time.
            resample = Image.Resampling.BICUBIC if self._made else Image.Resampling.LANCZOS
            self._made[size] = _fit(self._source_for(size, 2), size, resample)
        return self._made[size]

    def lifted(self, size: tuple[int, int]) -> Image.Image:
        """The fit with the e-ink lift applied (owned by this object), from any larger fit:
        resampling twice softens less than dithering into a few colours does, and a smaller source
        costs less to resample. A lifted fit is the first choice: the lift is affine, so it survives
        resampling, and one serves both panels.
        """
        if size not in self._lifted:
            # A triangle filter (a third of LANCZOS' taps): the difference does not survive dithering.
            earlier = _smallest_covering(size, self._lifted.values(), 1)
            if earlier is not None:
                self._lifted[size] = _fit(earlier, size, Image.Resampling.BILINEAR)
            elif size in self._made:
                self._lifted[size] = apply_lift(self._made[size], self.lift)
            else:
                with _fit(self._source_for(size, 1), size, Image.Resampling.BILINEAR) as fitted:
                    self._lifted[size] = apply_lift(fitted, self.lift)
        return self._lifted[size]

    def palette(self, colors: int) -> tuple[RGB, ...]:
        """At most `colors` colours of the cover (see `_cover_colours`), the most used first."""
        if colors not in self._palettes:
            self._palettes[colors] = _cover_colours(self._base, colors)
        return self._palettes[colors]

    def _source_for(self, size: tuple[int, int], min_ratio: int) -> Image.Image:
        """The smallest fit already made at the same aspect and `min_ratio` times as large, else the base."""
        made = _smallest_covering(size, self._made.values(), min_ratio)
        return self._base if made is None else made

    def close(self) -> None:
        for image in (*self._made.values(), *self._lifted.values()):
            image.close()
        self._made.clear()
        self._lifted.clear()


def _smallest_covering(
    size: tuple[int, int], images: Iterable[Image.Image], min_ratio: int
) -> Image.Image | None:
    """The smallest of the images at the size's aspect and at least `min_ratio` times as large."""
    width, height = size
    larger = [
        image
        for image in images
        if image.width * height == image.height * width
        and image.width >= min_ratio * width
        and image.height >= min_ratio * height
    ]
    return min(larger, key=lambda image: image.width, default=None)


def render(
    base: Image.Image, profile: Profile, caption: Caption, accent: Accent = PLACEHOLDER_ACCENT
) -> bytes:
    """Encode one profile's rendition of an upright RGB image."""
    fits = _Fits(base)
    try:
        return _render(fits, profile, caption, accent)
    finally:
        fits.close()


def _fit(
    source: Image.Image, size: tuple[int, int], resample: Image.Resampling = Image.Resampling.LANCZOS
) -> Image.Image:
    """`ImageOps.fit`, shrinking by a whole factor first where that leaves enough to resample."""
    factor = int(min(source.width / size[0], source.height / size[1]) / _REDUCING_GAP)
    if factor < 2:
        return ImageOps.fit(source, size, resample)
    with source.reduce(factor) as reduced:
        return ImageOps.fit(reduced, size, resample)


def _render(fits: _Fits, profile: Profile, caption: Caption, accent: Accent) -> bytes:
    size = (profile.width, profile.height)
    drawn: tuple[RGB, ...] = ()  # flat colours drawn around the cover: a palette must hold them
    if profile.layout == "bar":
        canvas = _cover_and_text(fits, _BAR_LANDSCAPE, caption, (0, 0, 0), _BAR_TEXT)
        drawn = ((0, 0, 0), *_BAR_TEXT)
    elif profile.layout == "panel":
        # The cover is lifted before dithering; what is drawn beside it is lifted alike.
        background, text = (lifted_colour(rgb_of(c), fits.lift) for c in (accent.accent, accent.text))
        if shows_caption(profile):
            canvas = _cover_and_text(fits, size, caption, background, (text, text, text), eink=True)
        else:
            canvas = _letterboxed(fits, size, background, eink=True)
        drawn = (background, text)
    elif profile.fit == "letterbox":
        canvas = _letterboxed(fits, size)
        drawn = ((0, 0, 0),)
    else:
        canvas = fits.get(size).copy()
    if profile.layout == "round":
        _fill_outside_circle(canvas, rgb_of(accent.accent))
        drawn = (*drawn, rgb_of(accent.accent))
    try:
        palette = _palette_of(fits.palette(profile.colors), drawn, profile.colors) if profile.colors else ()
        finished = _finished(canvas, profile, palette)
        try:
            return _encode(finished, profile)
        finally:
            if finished is not canvas:
                finished.close()
    finally:
        canvas.close()


def _finished(canvas: Image.Image, profile: Profile, palette: tuple[RGB, ...]) -> Image.Image:
    """The canvas as its file holds it: on the profile's palette, and a bar turned to its portrait panel.

    The bar turns after quantizing: an image of one byte per pixel turns in a third of the time.
    """
    if profile.palette:
        image = to_panel(canvas, profile.palette)
    else:
        image = _mapped(canvas, palette) if palette else canvas
    if profile.layout != "bar":
        return image
    try:
        return image.transpose(Image.Transpose.ROTATE_270)  # -90°, as the original bar client expects
    finally:
        if image is not canvas:
            image.close()


def render_all(
    base: Image.Image, profiles: Iterable[Profile], caption: Caption, accent: Accent = PLACEHOLDER_ACCENT
) -> dict[str, bytes]:
    """Every profile's rendition from one decoded image; profiles of one size share one resize.

    The largest are made first, so that smaller ones can be scaled from them instead of the base;
    dithered (e-ink) ones last, so that they can take any fit the others made.
    """
    profiles = list(profiles)
    fits = _Fits(base)
    try:
        made = {
            p.name: _render(fits, p, caption, accent)
            for p in sorted(profiles, key=lambda p: (bool(p.palette), -p.width * p.height))
        }
    finally:
        fits.close()
    return {p.name: made[p.name] for p in profiles}


def largest_size(profiles: Iterable[Profile]) -> tuple[int, int]:
    """The biggest art box any profile needs, to bound decoding."""
    side = max((_art_side(p) for p in profiles), default=720)
    return side, side


def _art_side(profile: Profile) -> int:
    """The side a cover must keep, decoded, for this profile's art: never less, and no more."""
    # The bar and a captioned panel draw a square of their short side; a letterbox or a bare panel
    # contains the cover whole: one whose short side is at least the box's short side fills the box
    # in its binding dimension, whatever its shape (draft keeps both sides at least this).
    if profile.layout in ("bar", "panel") or profile.fit == "letterbox":
        return min(profile.width, profile.height)
    return max(profile.width, profile.height)  # cropped to fill the box: its long side


def contained_size(source: tuple[int, int], box: tuple[int, int]) -> tuple[int, int]:
    """The largest size of the source's aspect that fits inside the box (at least 1 x 1)."""
    scale = min(box[0] / source[0], box[1] / source[1])
    return max(1, min(box[0], round(source[0] * scale))), max(1, min(box[1], round(source[1] * scale)))


def _letterboxed(
    fits: _Fits, box: tuple[int, int], background: RGB = (0, 0, 0), *, eink: bool = False
) -> Image.Image:
    """The whole cover, centred on bars of the background where its aspect differs from the panel's."""
    size = contained_size(fits.base_size, box)
    canvas = Image.new("RGB", box, background)
    fitted = fits.lifted(size) if eink else fits.get(size)
    canvas.paste(fitted, ((box[0] - size[0]) // 2, (box[1] - size[1]) // 2))
    return canvas


def _cover_and_text(
    fits: _Fits,
    size: tuple[int, int],
    caption: Caption,
    background: RGB,
    fills: tuple[RGB, RGB, RGB],
    *,
    eink: bool = False,
) -> Image.Image:
    """Art across the full height on the left; title, artist and album beside it. The bar's layout
    (960x320) at other sizes: spacing scales with the height, type with the room beside the art, but
    no smaller than three quarters of the bar's (long titles end in an ellipsis instead).
    """
    width, height = size
    bar_width, bar_height = _BAR_LANDSCAPE
    spacing = height / bar_height
    type_scale = min(spacing, max(0.75, (width - height) / (bar_width - bar_height)))
    canvas = Image.new("RGB", size, background)
    canvas.paste(fits.lifted((height, height)) if eink else fits.get((height, height)), (0, 0))
    draw = ImageDraw.Draw(canvas)
    x = height + round(28 * spacing)
    right = width - round(24 * spacing)
    sizes = [round(points * type_scale) for points in _BAR_TEXT_POINTS]
    title = wrap_lines(caption.title, sizes[0], right - x, 2)
    if len(title) == 1:
        y, gap = round(70 * spacing), round(40 * type_scale)
    else:  # a long title takes two lines; the block closes up and stays in the middle
        gap = round(26 * type_scale)
        block = len(title) * sizes[0] + (len(title) - 1) * round(_TITLE_LEADING * type_scale)
        y = (height - block - 2 * gap - sizes[1] - sizes[2]) // 2
    for line in title:
        line.draw(draw, x, y, right, fills[0])
        y += sizes[0] + round(_TITLE_LEADING * type_scale)
    y += gap - round(_TITLE_LEADING * type_scale)
    for text, size_px, fill in ((caption.artist, sizes[1], fills[1]), (caption.album, sizes[2], fills[2])):
        layout_line(text, size_px, right - x).draw(draw, x, y, right, fill)
        y += size_px + gap
    return canvas


def _fill_outside_circle(image: Image.Image, colour: RGB) -> None:
    # A 1-bit mask selects without blending: a tenth of an 8-bit mask's time, the same pixels.
    with Image.new("1", image.size, 1) as mask:
        ImageDraw.Draw(mask).ellipse((0, 0, image.width - 1, image.height - 1), fill=0)
        image.paste(colour, (0, 0), mask)


def rgb_of(hex_colour: str) -> RGB:
    """`#rrggbb` as a tuple (black for anything else)."""
    try:
        value = int(hex_colour.removeprefix("#"), 16) if len(hex_colour) == 7 else 0
    except ValueError:
        value = 0
    return (value >> 16) & 0xFF, (value >> 8) & 0xFF, value & 0xFF


def _encode(image: Image.Image, profile: Profile) -> bytes:
    out = io.BytesIO()
    if profile.format == "jpeg":
        # Baseline only: microcontroller decoders (jpegio, TJpgDec) cannot read progressive JPEG.
        image.save(out, format="JPEG", quality=_JPEG_QUALITY, optimize=True, progressive=False)
    elif profile.format == "png" and profile.palette:
        return palette_png.encode(image)
    elif profile.format == "png" and image.mode == "RGB":
        # PNG's row filters leave a photo as runs of small differences: zlib's run-length strategy
        # codes them as small as its default does (±5 %), in two thirds of the time.
        image.save(out, format="PNG", compress_type=zlib.Z_RLE)
    else:
        image.save(out, format=profile.format.upper())
    return out.getvalue()


def _cover_colours(image: Image.Image, colors: int) -> tuple[RGB, ...]:
    """A palette for the cover: the colours of its small details first, then median cut's, most used first.

    Median cut, as the original scripts quantized, splits the most populous colour boxes: smooth
    gradients keep their steps fine, but a small bright detail shares a box with the colours around
    it, and white lettering came out grey or tinted. An octree keeps the details and bands the
    gradients. So median cut chooses all but an eighth of the colours, and the rest go to the
    pixels farthest from every colour chosen (bench/ pipeline: +6 to +9.5 dB PSNR at 64 colours).
    Details first: a profile that draws colours of its own drops the least used instead.
    """
    factor = max(1, math.ceil((image.width * image.height / _PALETTE_SAMPLE_PIXELS) ** 0.5))
    with image.resize((image.width // factor, image.height // factor), Image.Resampling.NEAREST) as sample:
        common = _median_cut(sample, colors - colors // _DETAIL_SHARE)
        details = _details(sample, common, colors - len(common))
    return (*details, *(colour for colour in common if colour not in details))


def _median_cut(sample: Image.Image, colors: int) -> tuple[RGB, ...]:
    """Undithered median cut of the sample, its colours the most used first."""
    with sample.quantize(colors=colors, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE) as cut:
        counts = cut.histogram()
        flat = cut.getpalette() or []
    used = sorted((i for i in range(len(flat) // 3) if counts[i]), key=lambda i: (-counts[i], i))
    return tuple((flat[3 * i], flat[3 * i + 1], flat[3 * i + 2]) for i in used)


def _details(sample: Image.Image, palette: tuple[RGB, ...], count: int) -> tuple[RGB, ...]:
    """Up to `count` colours of the sample, each the pixel farthest from the palette and those before it."""
    found: list[RGB] = []
    with _mapped(sample, palette) as mapped, mapped.convert("RGB") as nearest:
        error = levels_apart(sample, nearest)
    try:
        for _ in range(count):
            worst = error.getextrema()[1]
            if not isinstance(worst, int) or worst < _DETAIL_MIN_LEVELS:
                break
            colour = _pixel_at_least(sample, error, worst)
            found.append(colour)
            with Image.new("RGB", sample.size, colour) as flat, levels_apart(sample, flat) as to_it:
                error, previous = ImageChops.darker(error, to_it), error
                previous.close()
    finally:
        error.close()
    return tuple(found)


def levels_apart(a: Image.Image, b: Image.Image) -> Image.Image:
    """Per pixel, the largest difference of any channel (an "L" image)."""
    with ImageChops.difference(a, b) as difference:
        red, green, blue = difference.split()
    with red, green, blue, ImageChops.lighter(green, blue) as green_blue:
        return ImageChops.lighter(red, green_blue)


def _pixel_at_least(image: Image.Image, error: Image.Image, level: int) -> RGB:
    """The colour of the first pixel, in reading order, whose error is `level` or more."""
    with error.point(lambda value: 255 if value >= level else 0) as mask:
        left, top, right, _ = mask.getbbox() or (0, 0, 1, 1)
        with mask.crop((left, top, right, top + 1)) as row:
            x = left + row.tobytes().index(255)
    pixel = image.getpixel((x, top))
    assert isinstance(pixel, tuple)
    return (pixel[0], pixel[1], pixel[2])


def _palette_of(cover: tuple[RGB, ...], drawn: tuple[RGB, ...], colors: int) -> tuple[RGB, ...]:
    """A profile's palette: the colours it draws exactly, and the cover's most used in the rest."""
    drawn = tuple(dict.fromkeys(drawn))
    kept = [colour for colour in cover if colour not in drawn][: max(0, colors - len(drawn))]
    return (*kept, *drawn)[:colors]


def _mapped(image: Image.Image, palette: tuple[RGB, ...]) -> Image.Image:
    """Every pixel as its nearest palette colour, undithered."""
    with Image.new("P", (1, 1)) as target:
        target.putpalette([channel for colour in palette for channel in colour])
        return image.quantize(palette=target, dither=Image.Dither.NONE)
