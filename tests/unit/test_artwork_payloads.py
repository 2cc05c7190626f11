"""Pure decisions of the artwork service: URL parsing, rendition lookup and JSON payloads."""

from __future__ import annotations

import json

import jsonschema
import pytest

from artwork.openapi import openapi_document
from artwork.payloads import (
    body_etag,
    json_body,
    rooms_payload,
    split_image_filename,
    zone_payload,
    zone_rendition,
    zones_payload,
)
from contract.layout import rendition_name
from contract.profiles import BUILTIN_PROFILES
from contract.zone import Member, ZoneState, default_zone_id

SQUARE = BUILTIN_PROFILES["square720"]
JPEG = BUILTIN_PROFILES["jpeg720"]
BAR = BUILTIN_PROFILES["bar320x960"]


def _zone(images: dict[str, str], zone_id: str = "living-room") -> ZoneState:
    return ZoneState(zone_id=zone_id, name="Living Room", coordinator_uid="RINCON_1", images=images)


@pytest.mark.parametrize(
    ("filename", "expected"),
    [
        ("square720.bmp", ("square720", "bmp")),
        ("a.b.jpg", ("a.b", "jpg")),
        ("square720", None),
        (".bmp", None),
        ("square720.", None),
    ],
)
def test_an_image_file_name_splits_into_profile_and_extension(filename, expected):
    assert split_image_filename(filename) == expected


def test_the_zone_rendition_is_the_stored_path_when_it_matches_the_profile():
    name = rendition_name("src", SQUARE)

    assert zone_rendition(_zone({"square720": name.relpath}), SQUARE) == name


@pytest.mark.parametrize(
    "stored",
    [
        "../../etc/passwd",
        "/etc/passwd",
        "art/00/not-a-rendition.bmp",
        "art/zz/" + rendition_name("src", SQUARE).filename,  # wrong fan-out directory
        rendition_name("src", JPEG).relpath,  # another profile's file
    ],
)
def test_a_stored_path_that_is_not_this_profiles_rendition_is_ignored(stored):
    assert zone_rendition(_zone({"square720": stored}), SQUARE) is None


def test_a_zone_without_an_image_for_the_profile_has_no_rendition():
    assert zone_rendition(_zone({}), SQUARE) is None


def test_the_zone_payload_adds_urls_for_configured_profiles_it_has():
    square, jpeg, bar = (rendition_name("src", p) for p in (SQUARE, JPEG, BAR))
    zone = _zone({"square720": square.relpath, "jpeg720": jpeg.relpath, "bar320x960": bar.relpath})

    payload = zone_payload(zone, [SQUARE, JPEG])

    assert payload["image_urls"] == {
        "square720": "/zones/living-room/square720.bmp",
        "jpeg720": "/zones/living-room/jpeg720.jpg",
    }
    assert payload["art_urls"] == {
        "square720": f"/art/{square.filename}",
        "jpeg720": f"/art/{jpeg.filename}",
    }
    rest = {k: v for k, v in payload.items() if not k.endswith("_urls")}
    assert rest == {**zone.to_json_dict(), "room": "living-room", "group": "living-room", "rooms": []}


def test_a_room_in_a_group_gets_the_groups_state_with_image_urls_of_its_own():
    square = rendition_name("src", SQUARE)
    members = (Member("RINCON_1", "Living Room"), Member("RINCON_2", "Kitchen"))
    zone = _zone({"square720": square.relpath}).with_changes(members=members)

    payload = zone_payload(zone, [SQUARE], room="kitchen")

    assert (payload["room"], payload["group"], payload["id"]) == ("kitchen", "living-room", "living-room")
    assert payload["image_urls"] == {"square720": "/zones/kitchen/square720.bmp"}
    assert payload["rooms"] == [
        {"id": "living-room", "name": "Living Room"},
        {"id": "kitchen", "name": "Kitchen"},
    ]


def test_the_room_list_follows_the_room_map_over_members_that_lag_a_move():
    living = _zone({}).with_changes(members=(Member("RINCON_1", "Living Room"),))
    kitchen = _zone({}, "kitchen").with_changes(name="Kitchen", members=(Member("RINCON_2", "Kitchen"),))
    # Kitchen has just joined Living Room: the map says so before Living Room's members do.
    rooms = {"living-room": "living-room", "kitchen": "living-room", "office": "living-room"}

    assert rooms_payload([living, kitchen], rooms) == [
        {"id": "kitchen", "name": "Kitchen", "group": "living-room"},
        {"id": "living-room", "name": "Living Room", "group": "living-room"},
        {"id": "office", "name": "office", "group": "living-room"},
    ]


def test_the_default_zone_is_the_configured_one_or_else_the_first():
    assert default_zone_id("kitchen", ["bath", "kitchen"]) == "kitchen"
    assert default_zone_id("", ["bath", "kitchen"]) == "bath"
    assert default_zone_id("", []) is None


def test_the_zone_list_names_the_default_zone():
    payload = zones_payload([_zone({}, "bath"), _zone({}, "kitchen")], [SQUARE], "", {})

    assert payload["default_zone"] == "bath"
    assert [z["id"] for z in payload["zones"]] == ["bath", "kitchen"]
    assert [r["id"] for r in payload["rooms"]] == ["bath", "kitchen"]


def test_equal_payloads_give_equal_bytes_and_etags():
    first = json_body({"b": 1, "a": "ü"})
    second = json_body({"a": "ü", "b": 1})

    assert first == second
    assert json.loads(first) == {"a": "ü", "b": 1}
    assert body_etag(first) == body_etag(second)
    assert body_etag(first) != body_etag(json_body({"a": "u", "b": 1}))


def test_the_zone_list_and_a_rooms_payload_follow_the_openapi_document():
    members = (Member("RINCON_1", "Living Room"), Member("RINCON_2", "Kitchen"))
    zone = _zone({"square720": rendition_name("src", SQUARE).relpath}).with_changes(members=members)
    components = openapi_document([SQUARE])["components"]

    def validate(payload: object, schema: str) -> None:
        jsonschema.validate(payload, {"$ref": f"#/components/schemas/{schema}", "components": components})

    validate(zones_payload([zone], [SQUARE], "", {"kitchen": "living-room"}), "ZoneList")
    validate(zone_payload(zone, [SQUARE], room="kitchen"), "Zone")
