"""The shared contract: profiles, names on disk, zone payloads, environment parsing."""

from __future__ import annotations

import pytest

from contract.env import Env
from contract.errors import ConfigError
from contract.layout import parse_art_name, parse_art_relpath, rendition_name
from contract.profiles import BUILTIN_PROFILES, missing_profile_message, parse_profiles
from contract.timecode import hms, parse_hms
from contract.zone import Member, Source, TransportState, ZoneState, zone_id_for


def test_default_profiles_parse_in_order():
    assert [p.name for p in parse_profiles("square720,bar320x960,jpeg720")] == [
        "square720",
        "bar320x960",
        "jpeg720",
    ]


def test_custom_profile_takes_name_size_and_format():
    (profile,) = parse_profiles("hub75=64x64.png")
    assert (profile.name, profile.width, profile.height, profile.format) == ("hub75", 64, 64, "png")


def test_a_square_custom_profile_crops_and_any_other_shape_letterboxes_by_default():
    square, wide, tall = parse_profiles("sq=400x400.png,wide=800x480.jpg,tall=320x960.bmp")
    assert (square.fit, wide.fit, tall.fit) == ("crop", "letterbox", "letterbox")


def test_a_fit_after_a_colon_overrides_the_default_for_custom_and_built_in_profiles():
    wide, square = parse_profiles("wide=800x480.jpg:crop,jpeg720:letterbox")
    assert (wide.fit, square.fit) == ("crop", "letterbox")
    assert square.width == BUILTIN_PROFILES["jpeg720"].width


def test_the_fit_changes_the_rendition_name_only_when_it_is_not_the_default_crop():
    (cropped,) = parse_profiles("jpeg720:crop")
    (letterboxed,) = parse_profiles("jpeg720:letterbox")
    assert cropped.spec == BUILTIN_PROFILES["jpeg720"].spec
    assert rendition_name("abc", letterboxed) != rendition_name("abc", cropped)


@pytest.mark.parametrize(
    "bad",
    [
        "nosuch",
        "x=10x10.png",
        "a=320x240.gif",
        "Upper=320x240.png",
        "",
        "jpeg720,jpeg720",
        "wide=800x480.jpg:stretch",
        "bar320x960:letterbox",
    ],
)
def test_bad_profiles_fail_naming_the_key(bad):
    with pytest.raises(ConfigError, match=r"^ARTWORK_PROFILES"):
        parse_profiles(bad)


def test_a_disabled_built_in_profile_is_explained_with_how_to_enable_it():
    configured = parse_profiles("square720,jpeg720")
    message = missing_profile_message("jpeg480.jpg", configured)
    assert message == (
        "profile jpeg480 is not enabled: add it to ARTWORK_PROFILES (now square720.bmp, jpeg720.jpg) "
        "and restart, then ask for jpeg480.jpg"
    )


def test_an_unknown_profile_is_answered_with_the_profiles_there_are():
    message = missing_profile_message("nonsense.bmp", parse_profiles("square720,jpeg720"))
    assert message == "unknown profile 'nonsense.bmp'; the profiles here are square720.bmp, jpeg720.jpg"


def test_a_configured_profile_asked_for_in_another_format_names_its_own_extension():
    message = missing_profile_message("square720.jpg", parse_profiles("square720"))
    assert message == "profile square720 is served as square720.bmp"


def test_rendition_names_round_trip_through_the_path_validator():
    name = rendition_name("abc", BUILTIN_PROFILES["square720"])
    assert parse_art_relpath(name.relpath) == name
    assert parse_art_name(name.filename) == name


def test_text_layouts_get_a_new_name_when_the_caption_changes():
    bar = BUILTIN_PROFILES["bar320x960"]
    assert rendition_name("abc", bar, "one") != rendition_name("abc", bar, "two")


@pytest.mark.parametrize(
    "bad",
    ["../etc/passwd", "art/../x", "art/ab/../../etc", "/etc/passwd", "art/zz/" + "a" * 32 + "-square720.bmp"],
)
def test_anything_but_a_stored_rendition_path_is_refused(bad):
    assert parse_art_relpath(bad) is None


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("Living Room", "living-room"),
        ("Küche", "kuche"),
        ("  Bed/Room 2 ", "bed-room-2"),
        ("???", "rincon-1"),
    ],
)
def test_zone_id_is_a_slug_of_the_room_name(name, expected):
    assert zone_id_for(name, "RINCON_1") == expected


def test_zone_state_round_trips_through_the_redis_hash():
    state = ZoneState(
        zone_id="living-room",
        name="Living Room",
        coordinator_uid="RINCON_1",
        members=(Member("RINCON_1", "Living Room"),),
        state=TransportState.PLAYING,
        source=Source.LIBRARY,
        title="Café",
        images={"jpeg720": "art/ab/x.jpg"},
        position_seconds=65,
        duration_seconds=210,
        position_at_ms=120,
        version=7,
        updated_at_ms=123,
    )
    assert ZoneState.from_redis_hash("living-room", state.to_redis_hash()) == state


def test_progress_is_sent_as_seconds_and_the_reading_time_as_position_at():
    state = ZoneState("den", "Den", "RINCON_1", position_seconds=65, duration_seconds=210, position_at_ms=9)
    payload = state.to_json_dict()
    assert (payload["position_seconds"], payload["duration_seconds"], payload["position_at"]) == (65, 210, 9)


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("0:00:00", 0), ("0:03:30", 210), ("1:02:03", 3723), ("12:00:00", 43200), ("0:01:05.250", 65)],
)
def test_upnp_times_parse_to_whole_seconds_and_back(text, seconds):
    assert parse_hms(text) == seconds
    assert parse_hms(hms(seconds)) == seconds


@pytest.mark.parametrize("text", ["", "NOT_IMPLEMENTED", "3:30", "0:61:00", "-0:00:01", "a:bc:de"])
def test_anything_but_an_upnp_time_parses_to_none(text):
    assert parse_hms(text) is None


@pytest.mark.parametrize(
    ("environ", "message"),
    [({"N": "x"}, "N: 'x' is not an integer"), ({"N": "0"}, "N: 0 must be at least 1")],
)
def test_env_errors_name_the_key(environ, message):
    with pytest.raises(ConfigError, match=message):
        Env(environ).integer("N", 5, minimum=1)


def test_env_flag_accepts_on_and_off():
    assert Env({"E": "off"}).flag("E", default=True) is False
    with pytest.raises(ConfigError, match="E: 'maybe' must be on or off"):
        Env({"E": "maybe"}).flag("E", default=True)
