"""Titles in their own script on the bar panel: real fonts by coverage, raqm shaping, safe ellipses.

A missing glyph draws nothing or the same box for every character, so two different titles of the
same length and script that draw the same pixels mean the script was not drawn.
"""

from __future__ import annotations

import io

import pytest
from PIL import Image, ImageChops, ImageDraw, ImageFont, features

from contract.profiles import parse_profiles
from poller.render import Caption, placeholder_art, render
from poller.text import (
    FONT_FILES,
    FONT_PACKAGES,
    font_for,
    graphemes,
    installed_fonts,
    is_rtl,
    layout_line,
    runs,
    sized_font,
    wrap_lines,
)

BAR = parse_profiles("bar320x960")[0]
# The bar is drawn landscape (960x320) and turned; the text sits right of the 320 px art.
TEXT_BOX = (320, 0, 960, 320)


@pytest.fixture(scope="module", autouse=True)
def fonts_installed() -> None:
    """The fonts are Debian packages (the image and .ci/run install them); without them, say so."""
    assert installed_fonts() == FONT_FILES, f"apt-get install {' '.join(FONT_PACKAGES)}"


def text_area(caption: Caption) -> Image.Image:
    """The bar's text area as drawn for a caption, over plain black art."""
    with Image.new("RGB", (720, 720)) as art:
        data = render(art, BAR, caption)
    with Image.open(io.BytesIO(data)) as bar:
        landscape = bar.convert("RGB").transpose(Image.Transpose.ROTATE_90)
    return landscape.crop(TEXT_BOX)


def inked_pixels(image: Image.Image) -> int:
    return sum(image.convert("L").point(lambda v: 255 if v > 60 else 0).histogram()[255:])


def differ(first: Image.Image, second: Image.Image) -> bool:
    return ImageChops.difference(first, second).getbbox() is not None


@pytest.mark.parametrize(
    ("script", "first", "second"),
    [
        ("CJK", ("夜に駆ける", "ヨルシカ"), ("春よ来い来", "松任谷由")),
        ("Cyrillic", ("Кино Звезда", "Группа Кино"), ("Песня Ветра", "Земфира Рок")),
        ("Greek", ("Τα παιδιά", "Χατζιδάκις"), ("Μια νύχτα", "Θεοδωράκης")),
        ("Arabic", ("أنا لحبيبي", "فيروز"), ("يا ليل طال", "ماجدة")),
        ("Hebrew", ("שיר לשלום", "להקת הנח"), ("ירושלים ש", "נעמי שמר")),
        ("accented Latin", ("Café Noël", "Françoise"), ("Cafe Noel", "Francoise")),
        ("Korean", ("밤양갱 노래", "비비 가수"), ("사랑을 했다", "방탄 소년")),
        ("Thai", ("เพลงไทย", "นักร้อง"), ("ความรัก", "คาราบาว")),
        ("Devanagari", ("तुम ही हो", "अरिजीत"), ("दिल से रे", "श्रेया")),
        ("Bengali", ("আমার সোনার", "নজরুলগীতি"), ("তোমার জন্য", "দিল সে রে")),
        ("Tamil", ("காதலிக்க", "சித்ராவின்"), ("அன்பே வா", "ஜானகியம்மா")),
    ],
)
def test_titles_of_one_script_and_length_draw_differently(script, first, second):
    assert [len(s) for s in first] == [len(s) for s in second], "same lengths, or the test proves less"
    one, two = text_area(Caption(*first)), text_area(Caption(*second))

    assert inked_pixels(one) > 500, f"{script} drew (almost) nothing"
    assert inked_pixels(two) > 500, f"{script} drew (almost) nothing"
    assert differ(one, two), f"{script} titles drew the same pixels: missing glyphs"


def test_a_right_to_left_title_is_drawn_as_pillow_with_raqm_draws_it():
    assert features.check("raqm"), "Pillow here has no raqm layout"
    title = "أنا لحبيبي"
    line = layout_line(title, 44, 600)
    font = sized_font(font_for("أ") or 0, 44)
    expected = Image.new("RGB", (640, 120))
    ImageDraw.Draw(expected).text((616 - line.width, 10), title, fill=(255, 255, 255), font=font)
    unshaped = Image.new("RGB", (640, 120))
    basic = ImageFont.truetype(font.path, 44, layout_engine=ImageFont.Layout.BASIC)
    ImageDraw.Draw(unshaped).text((616 - line.width, 10), title, fill=(255, 255, 255), font=basic)

    drawn = Image.new("RGB", (640, 120))
    line.draw(ImageDraw.Draw(drawn), 28, 10, 616, (255, 255, 255))

    assert line.rtl
    assert not differ(drawn, expected), "not what raqm lays out"
    assert differ(drawn, unshaped), "shaping made no difference: the test would not catch its loss"


@pytest.mark.parametrize("title", ["नमस्ते दुनिया", "ছন্দে ছন্দে", "வணக்கம்", "ที่นี่"])
def test_an_indic_or_thai_title_is_shaped_as_raqm_shapes_it(title: str):
    # Vowel signs go before or above their consonant and conjuncts join: unshaped, they do not.
    assert features.check("raqm"), "Pillow here has no raqm layout"
    line = layout_line(title, 44, 600)
    font = sized_font(font_for(title[0]) or 0, 44)
    baseline = 10 + sized_font(0, 44).getmetrics()[0]  # every run sits on the first font's baseline
    expected = Image.new("RGB", (640, 120))
    ImageDraw.Draw(expected).text((28, baseline), title, fill=(255, 255, 255), font=font, anchor="ls")
    unshaped = Image.new("RGB", (640, 120))
    basic = ImageFont.truetype(font.path, 44, layout_engine=ImageFont.Layout.BASIC)
    ImageDraw.Draw(unshaped).text((28, baseline), title, fill=(255, 255, 255), font=basic, anchor="ls")

    drawn = Image.new("RGB", (640, 120))
    line.draw(ImageDraw.Draw(drawn), 28, 10, 616, (255, 255, 255))

    assert [r.font_index for r in line.runs] == [font_for(title[0])], "one font draws the whole title"
    assert not differ(drawn, expected), "not what raqm lays out"
    assert differ(drawn, unshaped), "shaping made no difference: the test would not catch its loss"


@pytest.mark.parametrize("title", ["Thai ไทย", "Dil दिल"])
def test_latin_and_another_script_in_one_title_sit_on_one_baseline(title: str):
    # Neither part has a descender here: their lowest inked rows are the baseline.
    line = layout_line(title, 44, 600)
    assert len(line.runs) == 2, "two fonts, or the test proves nothing"
    image = Image.new("RGB", (640, 120))
    line.draw(ImageDraw.Draw(image), 0, 10, 640, (255, 255, 255))
    image = image.convert("L")
    split = round(sized_font(line.runs[0].font_index, 44).getlength(line.runs[0].text))
    first = image.crop((0, 0, split, 120)).point(lambda v: 255 if v > 128 else 0).getbbox()
    second = image.crop((split, 0, 640, 120)).point(lambda v: 255 if v > 128 else 0).getbbox()

    assert first is not None
    assert second is not None
    assert abs(first[3] - second[3]) <= 2, f"bottoms at {first[3]} and {second[3]}"


def test_emoji_are_left_out_never_drawn_as_boxes():
    with_emoji, without = text_area(Caption("Happy 🎉 Song")), text_area(Caption("Happy Song"))

    assert not differ(with_emoji, without)
    assert runs("Happy 🎉 Song")[1] == "🎉"


def test_latin_and_cjk_in_one_title_use_one_font_each():
    line_runs, dropped = runs("Tokyo 東京 Nights")

    assert [r.text for r in line_runs] == ["Tokyo ", "東京 ", "Nights"]
    assert line_runs[0].font_index == line_runs[2].font_index != line_runs[1].font_index
    assert dropped == ""


def test_a_shortened_title_ends_in_an_ellipsis_between_grapheme_clusters():
    # Decomposed accents and a Devanagari conjunct: a code-point cut would strand a mark.
    title = "Cafe\u0301 " * 12 + "नमस्ते"
    line = layout_line(title, 44, 300)
    shown = "".join(r.text for r in line.runs)

    assert shown.endswith("…")
    assert line.width <= 300
    kept = shown[:-1]
    assert graphemes(title.replace("Cafe\u0301", "Café"))[: len(graphemes(kept))] == graphemes(kept)
    assert not kept.endswith("\u0301")
    assert kept.rstrip() == kept


def test_text_that_fits_is_kept_whole_with_its_accents():
    line = layout_line("Ñandú — Café", 34, 600)

    assert "".join(r.text for r in line.runs) == "Ñandú — Café"


def test_direction_is_that_of_the_first_strong_character():
    assert is_rtl("שלום world")
    assert is_rtl("123 مرحبا")
    assert not is_rtl("Hello שלום")
    assert not is_rtl("東京")


def test_placeholders_draw_their_label_in_its_script():
    with placeholder_art("ラジオ") as first, placeholder_art("ラジヲ") as second:
        # Same gradient seed is not guaranteed, so compare the label box against its own background.
        assert differ(
            first.crop((200, 300, 520, 420)), Image.new("RGB", (320, 120), first.getpixel((205, 305)))
        )
        assert first.size == second.size == (720, 720)


def shown_text(line) -> str:
    return "".join(r.text for r in line.runs)


def test_a_title_that_fits_on_one_line_is_not_wrapped():
    (line,) = wrap_lines("Blue in Green", 44, 600, 2)

    assert shown_text(line) == "Blue in Green"
    assert not line.shortened


def test_a_long_title_breaks_at_a_space_onto_a_second_line():
    title = "Пусть всегда будет солнце, пусть всегда будет небо"
    first, second = wrap_lines(title, 44, 420, 2)

    assert first.width <= 420
    assert second.width <= 420
    assert not first.shortened
    assert title.startswith(shown_text(first) + " ")  # whole words, the space left out
    assert second.shortened == (title != f"{shown_text(first)} {shown_text(second)}")
    assert title[len(shown_text(first)) + 1 :].startswith(shown_text(second).removesuffix("…"))


def test_a_title_without_spaces_breaks_between_grapheme_clusters():
    title = "君の知らない物語はまだ終わらない夜の向こう側へ"
    first, second = wrap_lines(title, 44, 600, 2)

    assert shown_text(first) + shown_text(second) == title
    assert first.width <= 600
    assert second.width <= 600


def test_what_does_not_fit_on_the_last_line_ends_in_an_ellipsis():
    lines = wrap_lines("word " * 40, 44, 300, 2)

    assert len(lines) == 2
    assert shown_text(lines[1]).endswith("…")
    assert lines[1].shortened


def test_a_long_bar_title_is_drawn_on_two_lines_and_the_artist_still_shows():
    short = text_area(Caption("Пусть всегда будет", "Тамара Миансарова", "Лучшие песни"))
    long = text_area(
        Caption("Пусть всегда будет солнце, пусть всегда будет небо", "Тамара Миансарова", "Лучшие песни")
    )

    def inked_bands(image: Image.Image) -> int:
        """Runs of rows with ink: one per line of text."""
        ink = image.convert("L").point(lambda v: 255 if v > 60 else 0)
        rows = [ink.crop((0, y, ink.width, y + 1)).getbbox() is not None for y in range(ink.height)]
        return sum(1 for above, row in zip([False, *rows], rows, strict=False) if row and not above)

    assert inked_bands(short) == 3
    assert inked_bands(long) == 4
