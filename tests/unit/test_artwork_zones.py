"""Pure decisions of the zone copy: decoding hashes into a view, updating it, naming a zone in a message."""

from __future__ import annotations

import json

import pytest

from artwork.zone_cache import zone_named
from artwork.zones import NowPlayingUnavailable, ZoneView
from contract.redis_keys import RESYNC_MESSAGE
from harness.gunicorn import make_zone

DEN = make_zone("den").to_redis_hash()
KITCHEN = make_zone("kitchen").to_redis_hash()
BROKEN = {"name": "Broken", "state": "DANCING"}


def test_a_view_decodes_zones_and_keeps_apart_the_malformed_and_the_gone():
    view = ZoneView.decode({"den": DEN, "broken": BROKEN, "gone": {}})

    assert [z.zone_id for z in view.list()] == ["den"]
    assert view.ids() == ("broken", "den")
    assert view.get("gone") is None
    with pytest.raises(NowPlayingUnavailable, match="malformed"):
        view.get("broken")


def test_an_update_replaces_only_the_named_zones():
    view = ZoneView.decode({"den": DEN, "kitchen": KITCHEN, "broken": BROKEN})
    retitled = make_zone("kitchen", title="So What").to_redis_hash()

    updated = view.updated(ZoneView.decode({"kitchen": retitled, "broken": {}}), ["kitchen", "broken"])

    kitchen = updated.get("kitchen")
    assert kitchen is not None
    assert kitchen.title == "So What"
    assert updated.get("den") == view.get("den")
    assert updated.ids() == ("den", "kitchen")  # the malformed one is gone too


def test_an_update_can_turn_a_zone_malformed():
    view = ZoneView.decode({"den": DEN})

    updated = view.updated(ZoneView.decode({"den": BROKEN}), ["den"])

    assert updated.list() == []
    with pytest.raises(NowPlayingUnavailable):
        updated.get("den")


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (json.dumps(make_zone("living-room").to_json_dict()), "living-room"),
        (json.dumps({"id": "den", "removed": True}), "den"),
        (RESYNC_MESSAGE, None),
        (json.dumps({"id": "../etc"}), None),
        (json.dumps({"id": 7}), None),
        (json.dumps(["den"]), None),
        ("not json", None),
        (None, None),
    ],
)
def test_a_change_message_names_its_zone_or_none(data: object, expected: str | None):
    assert zone_named(data) == expected
