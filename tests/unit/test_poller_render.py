"""Renditions: exact sizes, formats the display clients can decode, bounded decoding."""

from __future__ import annotations

import io
import itertools

import pytest
from PIL import Image, ImageChops, ImageDraw, ImageEnhance, ImageStat

from contract.profiles import BUILTIN_PROFILES, PALETTES, parse_profiles
from poller.accent import accent_for
from poller.decode import decode_art
from poller.eink import apply_lift, cover_lift, lift_matrix, lifted_colour
from poller.errors import ArtRejected
from poller.render import (
    Caption,
    contained_size,
    largest_size,
    placeholder_art,
    render,
    render_all,
    shows_caption,
)
from tests.support.images import is_baseline_jpeg, jpeg_bytes

CAPTION = Caption("Título largo de una canción que no cabe", "Artist", "Album")


@pytest.fixture
def base():
    with decode_art(jpeg_bytes(1500, 1500), 40_000_000, (720, 720)) as image:
        yield image


@pytest.mark.parametrize("name", list(BUILTIN_PROFILES))
def test_every_builtin_profile_renders_at_exactly_its_size(base, name):
    profile = BUILTIN_PROFILES[name]
    with Image.open(io.BytesIO(render(base, profile, CAPTION))) as out:
        assert out.size == (profile.width, profile.height)
        assert out.format == {"bmp": "BMP", "jpeg": "JPEG", "png": "PNG"}[profile.format]


def test_square720_is_an_uncompressed_8_bit_bmp_with_at_most_64_colours(base):
    data = render(base, BUILTIN_PROFILES["square720"], CAPTION)
    assert data[:2] == b"BM"
    assert int.from_bytes(data[28:30], "little") == 8  # bits per pixel
    assert int.from_bytes(data[30:34], "little") == 0  # BI_RGB: no compression
    with Image.open(io.BytesIO(data)) as out:
        assert out.mode == "P"
        assert len(out.getcolors(256) or []) <= 64


def test_jpeg_renditions_are_baseline_even_from_a_progressive_source():
    source = io.BytesIO()
    with Image.open(io.BytesIO(jpeg_bytes(800, 800))) as image:
        image.save(source, format="JPEG", progressive=True)
    with decode_art(source.getvalue(), 40_000_000, (720, 720)) as base:
        data = render(base, BUILTIN_PROFILES["jpeg720"], CAPTION)
    assert is_baseline_jpeg(data)


def test_custom_profile_renders_at_its_size(base):
    (profile,) = parse_profiles("panel=320x240.png")
    with Image.open(io.BytesIO(render(base, profile, CAPTION))) as out:
        assert out.size == (320, 240)


def _column_is_black(image: Image.Image, x: int) -> bool:
    with image.crop((x, 0, x + 1, image.height)) as column, column.convert("L") as grey:
        return max(grey.tobytes()) < 8


def test_a_letterboxed_wide_panel_shows_the_whole_square_cover_between_black_bars(base):
    (profile,) = parse_profiles("wide=800x480.png")
    with Image.open(io.BytesIO(render(base, profile, CAPTION))) as out, out.convert("RGB") as rgb:
        assert rgb.size == (800, 480)
        assert _column_is_black(rgb, 0)
        assert _column_is_black(rgb, 799)
        assert not _column_is_black(rgb, 400)  # the cover, 480 wide, in the middle
        assert not _column_is_black(rgb, 161)
        assert _column_is_black(rgb, 158)


def test_a_cropped_wide_panel_fills_every_column_with_the_cover(base):
    (profile,) = parse_profiles("wide=800x480.png:crop")
    with Image.open(io.BytesIO(render(base, profile, CAPTION))) as out, out.convert("RGB") as rgb:
        assert not _column_is_black(rgb, 0)
        assert not _column_is_black(rgb, 799)


def test_a_letterboxed_square_panel_bars_a_wide_cover_above_and_below():
    (profile,) = parse_profiles("jpeg720:letterbox")
    with decode_art(jpeg_bytes(1200, 600), 40_000_000, (720, 720)) as wide_cover:
        data = render(wide_cover, profile, CAPTION)
    with Image.open(io.BytesIO(data)) as out, out.convert("RGB").rotate(90, expand=True) as turned:
        assert _column_is_black(turned, 5)
        assert not _column_is_black(turned, 360)


def _near(pixel: object, colour: tuple[int, int, int]) -> bool:
    assert isinstance(pixel, tuple)
    return all(abs(a - b) <= 12 for a, b in zip(pixel, colour, strict=True))


def test_the_round_profile_is_the_accent_colour_outside_its_circle_only(base):
    accent = accent_for((40, 160, 90))
    data = render(base, BUILTIN_PROFILES["round480"], CAPTION, accent)
    with Image.open(io.BytesIO(data)) as out, out.convert("RGB") as rgb:
        corners = [rgb.getpixel(xy) for xy in ((0, 0), (479, 0), (0, 479), (479, 479), (40, 40))]
        inside = [rgb.getpixel(xy) for xy in ((240, 240), (240, 5), (5, 240), (200, 300))]
    assert all(_near(pixel, (40, 160, 90)) for pixel in corners)
    assert not any(_near(pixel, (40, 160, 90)) for pixel in inside)


def test_colours_drawn_around_the_cover_are_held_exactly_by_a_64_colour_palette(base):
    # The palette comes from the cover, shared by every profile; what a profile draws is added to it.
    accent = accent_for((40, 160, 90))
    made = render_all(base, [BUILTIN_PROFILES["round480"], BUILTIN_PROFILES["bar320x960"]], CAPTION, accent)
    with Image.open(io.BytesIO(made["round480"])) as out, out.convert("RGB") as rgb:
        assert {rgb.getpixel(xy) for xy in ((0, 0), (479, 479), (40, 40))} == {(40, 160, 90)}
        assert len(out.getcolors(256) or []) <= 64
    with Image.open(io.BytesIO(made["bar320x960"])) as out, out.convert("RGB") as rgb:
        assert rgb.getpixel((319, 959)) == (0, 0, 0)  # the background past the text, turned portrait
        used = {colour for _, colour in rgb.getcolors(256) or []}
        assert (255, 255, 255) in used  # the title's own white, not the cover's nearest
        assert len(used) <= 64


LETTERING = (160, 61)  # a pixel of the white strokes `_square720_with_lettering` draws


def _square720_with_lettering(cover: Image.Image) -> Image.Image:
    """The cover with ten thin white strokes drawn on it (top left), rendered as square720, in RGB."""
    draw = ImageDraw.Draw(cover)
    for row in range(10):
        draw.rectangle((60, 60 + 12 * row, 260, 62 + 12 * row), fill=(255, 255, 255))
    out = io.BytesIO()
    cover.save(out, format="PNG")
    with decode_art(out.getvalue(), 40_000_000, (720, 720)) as base:
        data = render(base, BUILTIN_PROFILES["square720"], CAPTION)
    with Image.open(io.BytesIO(data)) as rendered:
        assert rendered.mode == "P"
        return rendered.convert("RGB")


def test_small_white_lettering_and_a_red_detail_keep_their_colours_on_64_colours():
    # A dark two-way gradient takes most of the cover; thin white strokes and a small red square
    # are about 1 % of it. Median cut alone, as the original scripts quantized, put the white into a
    # box with the gradient's light end: the lettering came out grey-green.
    with (
        Image.open(io.BytesIO(jpeg_bytes(720, 720, (60, 0, 0)))) as opened,
        opened.point(lambda level: level // 3) as cover,
    ):
        ImageDraw.Draw(cover).rectangle((600, 600, 611, 611), fill=(220, 20, 30))
        rendered = _square720_with_lettering(cover)
    with rendered:
        assert _near(rendered.getpixel(LETTERING), (255, 255, 255)), rendered.getpixel(LETTERING)
        assert _near(rendered.getpixel((605, 605)), (220, 20, 30)), rendered.getpixel((605, 605))


def test_a_smooth_gradient_keeps_fine_steps_beside_white_lettering_on_64_colours():
    # A sky-like gradient between two close blues: an octree, which keeps the lettering too, gave it
    # 16 bands with steps of 12 levels, visible across a panel.
    top, bottom = (100, 150, 205), (60, 70, 90)
    with Image.linear_gradient("L") as ramp, ramp.resize((720, 720)) as down:
        ends = zip(top, bottom, strict=True)
        cover = Image.merge("RGB", [down.point(lambda v, a=a, b=b: a + (b - a) * v // 255) for a, b in ends])
    with cover, _square720_with_lettering(cover) as rendered:
        column = [rendered.getpixel((500, y)) for y in range(720)]
        lettering = rendered.getpixel(LETTERING)
    assert all(isinstance(pixel, tuple) for pixel in column)
    steps = [max(abs(a - b) for a, b in zip(p, q, strict=True)) for p, q in itertools.pairwise(column)]  # type: ignore[arg-type]
    assert max(steps) <= 8, f"a step of {max(steps)} levels"
    assert len(set(column)) >= 30
    assert _near(lettering, (255, 255, 255)), lettering


@pytest.mark.parametrize("name", ["inky7", "spectra6"])
def test_an_e_ink_rendition_is_the_panels_size_in_nothing_but_its_palette(base, name):
    profile = BUILTIN_PROFILES[name]
    data = render(base, profile, CAPTION, accent_for((200, 30, 40)))
    with Image.open(io.BytesIO(data)) as out:
        assert out.format == "PNG"
        assert out.size == (profile.width, profile.height)
        assert out.mode == "P"
        used = {colour for _, colour in out.convert("RGB").getcolors(256) or []}
        palette = out.getpalette() or []
    assert used <= set(PALETTES[name])
    assert len(used) >= 4  # dithered: a cover and its text use several of the panel's colours
    assert palette[: 3 * len(PALETTES[name])] == [c for colour in PALETTES[name] for c in colour]


@pytest.mark.parametrize("name", ["inky7", "spectra6"])
def test_e_ink_dithering_is_deterministic(base, name):
    profile = BUILTIN_PROFILES[name]
    assert render(base, profile, CAPTION) == render(base, profile, CAPTION)


def test_the_wide_e_ink_panel_shows_the_text_and_the_narrower_one_only_the_cover():
    assert shows_caption(BUILTIN_PROFILES["spectra6"])
    assert not shows_caption(BUILTIN_PROFILES["inky7"])


@pytest.mark.parametrize(
    ("source", "box", "expected"),
    [
        ((1000, 1000), (800, 480), (480, 480)),
        ((1200, 600), (720, 720), (720, 360)),
        ((3, 2000), (64, 64), (1, 64)),
    ],
)
def test_the_contained_size_keeps_the_aspect_inside_the_box(source, box, expected):
    assert contained_size(source, box) == expected


def test_large_jpeg_is_reduced_while_decoding_to_the_smallest_size_that_covers_the_profiles():
    with decode_art(jpeg_bytes(3000, 3000), 40_000_000, (720, 720)) as image:
        assert image.size == (750, 750)  # libjpeg's 1/4 scale; 1/8 would be 375, too small
    with Image.new("RGB", (3000, 2000), (90, 40, 200)) as wide:
        out = io.BytesIO()
        wide.save(out, "JPEG")
    with decode_art(out.getvalue(), 40_000_000, (720, 720)) as image:
        assert image.size == (1500, 1000)  # the short side decides


def test_too_many_pixels_is_rejected_before_decoding():
    with pytest.raises(ArtRejected, match="ART_MAX_PIXELS"):
        decode_art(jpeg_bytes(2000, 2000), 1_000_000, (720, 720))


@pytest.mark.parametrize("data", [b"", b"not an image at all", jpeg_bytes()[:2000]])
def test_garbage_and_truncated_images_are_rejected(data):
    with pytest.raises(ArtRejected):
        decode_art(data, 40_000_000, (720, 720))


def test_transparent_png_is_flattened_to_rgb():
    out = io.BytesIO()
    with Image.new("RGBA", (100, 100), (255, 0, 0, 0)) as image:
        image.save(out, format="PNG")
    with decode_art(out.getvalue(), 40_000_000, (720, 720)) as base:
        assert base.mode == "RGB"
        assert base.getpixel((50, 50)) == (0, 0, 0)


def test_placeholder_renders_for_every_default_profile():
    profiles = parse_profiles("square720,bar320x960,jpeg720")
    with placeholder_art("Line-in") as base:
        outputs = render_all(base, profiles, Caption())
    assert set(outputs) == {"square720", "bar320x960", "jpeg720"}


def test_largest_size_ignores_the_long_side_of_the_bar():
    assert largest_size(parse_profiles("bar320x960,jpeg480")) == (480, 480)


@pytest.mark.parametrize(
    ("profiles", "side"),
    [
        ("inky7,spectra6", 480),  # letterboxed 448 px high, and the art beside the text 480 px high
        ("wide=800x480.jpg:letterbox", 480),  # contained whole: the short side decides
        ("wide=800x480.jpg:crop", 800),  # cropped to fill: the long side decides
    ],
)
def test_a_cover_is_decoded_no_larger_than_the_art_each_layout_draws(profiles, side):
    assert largest_size(parse_profiles(profiles)) == (side, side)


def test_a_wide_cover_decoded_for_a_letterbox_still_fills_the_box_without_upscaling():
    with decode_art(
        jpeg_bytes(3000, 1500), 40_000_000, largest_size(parse_profiles("wide=800x480.jpg:letterbox"))
    ) as image:
        assert contained_size(image.size, (800, 480))[0] <= image.width
        assert image.width < 3000  # and it was decoded smaller than the file


def test_the_e_ink_lift_is_one_pass_of_what_imageenhance_colour_then_contrast_do(base):
    with base.resize((240, 240)) as small:
        with ImageEnhance.Color(small).enhance(1.5) as coloured:
            expected = ImageEnhance.Contrast(coloured).enhance(1.15)
        with expected, small.convert("RGB", lift_matrix(ImageStat.Stat(small).mean)) as lifted:
            worst = max(high for _, high in ImageStat.Stat(ImageChops.difference(expected, lifted)).extrema)
    assert worst <= 3  # rounding only


def test_exif_orientation_is_applied_before_rendering():
    out = io.BytesIO()
    with Image.new("RGB", (400, 200), (255, 0, 0)) as wide:
        exif = wide.getexif()
        exif[0x0112] = 6  # "rotate 90° clockwise to display"
        wide.save(out, format="JPEG", exif=exif)
    with decode_art(out.getvalue(), 40_000_000, (720, 720)) as upright:
        assert upright.size == (200, 400)


def test_sixteen_bit_greyscale_png_is_scaled_not_clipped():
    out = io.BytesIO()
    with Image.new("I;16", (64, 64), 0x8000) as grey:
        grey.save(out, format="PNG")
    with decode_art(out.getvalue(), 40_000_000, (720, 720)) as base:
        assert base.mode == "RGB"
        assert base.getpixel((0, 0)) == (128, 128, 128)


def test_colours_drawn_beside_an_e_ink_cover_are_lifted_exactly_as_its_pixels_are(base):
    lift = cover_lift(base)
    with Image.new("RGB", (4, 4), (200, 30, 40)) as flat, apply_lift(flat, lift) as expected:
        assert lifted_colour((200, 30, 40), lift) == expected.getpixel((0, 0))
    assert lifted_colour((200, 30, 40), lift) != (200, 30, 40)  # a saturated colour is lifted further
