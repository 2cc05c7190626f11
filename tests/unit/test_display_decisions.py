"""The display client's pure decisions: URLs, backoff, when to ask again, which bodies to refuse."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from sonos_display.decisions import (
    BadImage,
    art_url,
    backoff_seconds,
    check_headers,
    check_image,
    idle,
    next_request_delay,
    zone_url,
)
from sonos_display.panels import buffer_bytes, choose_panel
from sonos_display.settings import SettingsError, read_settings


def image_bytes(size: tuple[int, int], image_format: str, **options: object) -> bytes:
    out = io.BytesIO()
    image = Image.new("RGB", size, (10, 20, 30))
    if image_format == "BMP":
        image = image.quantize(64)
    image.save(out, format=image_format, **options)
    return out.getvalue()


def test_the_zone_is_asked_for_with_its_wait_and_art_comes_from_its_immutable_url():
    assert zone_url("http://pi:8000", "living-room", 30) == "http://pi:8000/api/zones/living-room?wait=30"
    assert zone_url("http://pi:8000", "a b", 0) == "http://pi:8000/api/zones/a%20b"
    zone = {"art_urls": {"jpeg720": "/art/ab/abc-jpeg720.jpg"}}
    assert art_url("http://pi:8000", zone, "jpeg720") == "http://pi:8000/art/ab/abc-jpeg720.jpg"
    assert art_url("http://pi:8000", zone, "square720") is None


def test_backoff_doubles_from_one_second_to_a_minute_with_jitter():
    assert [backoff_seconds(n, 0.999999) for n in range(1, 9)] == pytest.approx([1, 2, 4, 8, 16, 32, 60, 60])
    assert backoff_seconds(3, 0.0) == 2.0  # never less than half
    assert backoff_seconds(0, 0.5) == 0.0


@pytest.mark.parametrize(
    ("status", "elapsed", "expected"),
    [(200, 0.1, 0.0), (304, 29.0, 0.0), (304, 0.05, 2.0), (404, 0.01, 2.0)],
)
def test_after_a_held_answer_ask_at_once_after_an_early_one_poll(status, elapsed, expected):
    assert next_request_delay(status, elapsed, 30, 2.0) == expected


def test_a_zone_paused_or_stopped_long_enough_dims():
    assert idle("PAUSED_PLAYBACK", 0, 600, 10)
    assert not idle("PAUSED_PLAYBACK", 0, 599, 10)
    assert not idle("PLAYING", 0, 6000, 10)
    assert not idle("STOPPED", 0, 6000, 0)


def test_bodies_are_refused_by_their_headers_before_they_are_read():
    check_headers("image/jpeg", 90_000, "jpeg", 388_800)
    for content_type, length in (
        ("text/html", 900),
        ("image/jpeg", None),
        ("image/jpeg", 2_000_000),
        ("image/bmp", 10),
    ):
        with pytest.raises(BadImage):
            check_headers(content_type, length, "jpeg", 388_800)


@pytest.mark.parametrize(("image_format", "ext"), [("JPEG", "jpeg"), ("BMP", "bmp")])
def test_an_image_must_be_of_the_panels_format_and_exact_size(image_format, ext):
    check_image(image_bytes((720, 720), image_format), ext, 720, 720)
    with pytest.raises(BadImage, match="360x360"):
        check_image(image_bytes((360, 360), image_format), ext, 720, 720)
    with pytest.raises(BadImage):
        check_image(b"<html>oops</html>", ext, 720, 720)


def test_a_progressive_jpeg_is_refused_as_jpegio_decodes_baseline_only():
    with pytest.raises(BadImage, match="progressive"):
        check_image(image_bytes((720, 720), "JPEG", progressive=True), "jpeg", 720, 720)


def test_a_panel_takes_jpeg_where_the_firmware_has_jpegio_and_bmp_otherwise():
    assert choose_panel("square720", has_jpegio=True).profile == "jpeg720"
    assert choose_panel("square720", has_jpegio=False).profile == "square720"
    bar = choose_panel("bar320x960", has_jpegio=True)
    assert (bar.width, bar.height, bar.profile, bar.format) == (320, 960, "bar320x960", "bmp")
    custom = choose_panel("frame=800x480.bmp", has_jpegio=False)
    assert (custom.width, custom.height, custom.profile) == (800, 480, "frame")
    assert buffer_bytes(bar) == 320 * 960 + 2048
    with pytest.raises(ValueError, match="SONOS_PANEL"):
        choose_panel("hexagon", has_jpegio=True)


def test_settings_come_from_settings_toml_with_clear_errors():
    values = {"SONOS_SERVER": "http://192.168.1.20:8000/", "SONOS_ZONE": "kitchen", "SONOS_POLL_SECONDS": "5"}
    settings = read_settings(values.get)
    assert (settings.server, settings.zone, settings.poll_seconds, settings.panel) == (
        "http://192.168.1.20:8000", "kitchen", 5.0, "square720",
    )  # fmt: skip
    with pytest.raises(SettingsError, match="SONOS_SERVER"):
        read_settings({}.get)
    with pytest.raises(SettingsError, match="SONOS_POLL_SECONDS"):
        read_settings({**values, "SONOS_POLL_SECONDS": "often"}.get)
