"""Accent colours of a cover: its dominant colour, readable text on it, and a dark variant."""

from __future__ import annotations

import colorsys

import pytest
from hypothesis import given
from hypothesis import strategies as st
from PIL import Image, ImageDraw

from poller.accent import PLACEHOLDER_ACCENT, accent_for, accent_of, contrast_ratio, dominant_colour


def _rgb(hex_colour: str) -> tuple[int, int, int]:
    return int(hex_colour[1:3], 16), int(hex_colour[3:5], 16), int(hex_colour[5:7], 16)


def _cover(background: tuple[int, int, int], patches: list[tuple[tuple[int, int, int], int]]) -> Image.Image:
    image = Image.new("RGB", (600, 600), background)
    draw = ImageDraw.Draw(image)
    for n, (colour, side) in enumerate(patches):
        draw.rectangle((n * 40, n * 40, n * 40 + side, n * 40 + side), fill=colour)
    return image


def test_a_red_dominant_cover_gives_a_red_accent():
    with _cover((200, 30, 40), [((20, 20, 20), 150), ((240, 240, 240), 100), ((40, 60, 200), 80)]) as cover:
        accent = accent_of(cover)
    hue, _, saturation = colorsys.rgb_to_hls(*(c / 255 for c in _rgb(accent.accent)))
    assert hue < 0.05 or hue > 0.95  # red
    assert saturation > 0.5


def test_a_small_vivid_patch_on_black_beats_the_black():
    with _cover((5, 5, 5), [((250, 200, 0), 180)]) as cover:
        accent = accent_of(cover)
    red, green, blue = _rgb(accent.accent)
    assert red > 200
    assert green > 150
    assert blue < 60


def test_a_black_and_white_cover_gives_a_neutral():
    with _cover((250, 250, 250), [((10, 10, 10), 300), ((128, 128, 128), 120)]) as cover:
        accent = accent_of(cover)
    red, green, blue = _rgb(accent.accent)
    assert max(red, green, blue) - min(red, green, blue) <= 8


def test_an_empty_sample_falls_back_to_black():
    assert dominant_colour([]) == (0, 0, 0)


def test_the_muted_variant_is_a_darker_colour_of_the_same_hue():
    accent = accent_for((200, 40, 90))
    assert accent.muted == "#3c0c1b"
    assert _rgb(accent.muted)[0] < _rgb(accent.accent)[0]


@pytest.mark.parametrize("accent", [PLACEHOLDER_ACCENT, accent_for((255, 255, 0)), accent_for((0, 0, 128))])
def test_every_colour_is_hash_rrggbb(accent):
    for value in (accent.accent, accent.text, accent.muted):
        assert len(value) == 7
        assert value.startswith("#")
        int(value[1:], 16)


@given(st.tuples(st.integers(0, 255), st.integers(0, 255), st.integers(0, 255)))
def test_accent_text_always_has_at_least_4_5_to_1_contrast_on_the_accent(rgb):
    accent = accent_for(rgb)
    assert contrast_ratio(_rgb(accent.text), _rgb(accent.accent)) >= 4.5


def test_the_placeholder_text_is_readable_on_both_placeholder_colours():
    text = _rgb(PLACEHOLDER_ACCENT.text)
    assert contrast_ratio(text, _rgb(PLACEHOLDER_ACCENT.accent)) >= 4.5
    assert contrast_ratio(text, _rgb(PLACEHOLDER_ACCENT.muted)) >= 4.5
