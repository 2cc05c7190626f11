"""Pure XML builders and request parsing of fakesonos."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from contract.zone import TransportState
from fakesonos import upnp
from fakesonos.control import BadRequestError, parse_state_request, parse_track_request
from fakesonos.model import Cover, GroupView, PlaybackView, SpeakerInfo, Topology, Track

SOAP = "{http://schemas.xmlsoap.org/soap/envelope/}"
DIDL = "{urn:schemas-upnp-org:metadata-1-0/DIDL-Lite/}"
DC = "{http://purl.org/dc/elements/1.1/}"
UPNP = "{urn:schemas-upnp-org:metadata-1-0/upnp/}"

LIVING = SpeakerInfo("127.0.0.2", 1400, "Living Room", "RINCON_AAAAAAAAAAAA01400")
KITCHEN = SpeakerInfo("127.0.0.3", 1401, 'Kitchen "&" <Bar>', "RINCON_BBBBBBBBBBBB01400")


def out_args(envelope: str) -> dict[str, str]:
    """What soco's unwrap_arguments makes of a response."""
    body = ET.fromstring(envelope).find(f"{SOAP}Body")
    assert body is not None
    return {child.tag: child.text or "" for child in body[0]}


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (
            "urn:schemas-upnp-org:service:AVTransport:1#GetPositionInfo",
            ("urn:schemas-upnp-org:service:AVTransport:1", "GetPositionInfo"),
        ),
        (
            '"urn:schemas-upnp-org:service:AVTransport:1#Play"',
            ("urn:schemas-upnp-org:service:AVTransport:1", "Play"),
        ),
        ("", None),
        (None, None),
        ("no-hash", None),
        ("urn:x#", None),
    ],
)
def test_soap_action_header_is_split_with_or_without_quotes(header, expected):
    assert upnp.parse_soap_action(header) == expected


def test_position_info_carries_escaped_didl_that_parses_back():
    track = Track("Café – <Ñandú> & Co", 'A "B"', "Ágætis", 3725, cover=Cover(b"x"))
    view = PlaybackView(LIVING, LIVING.uid, TransportState.PLAYING, track, 61)

    args = out_args(upnp.soap_response("AVTransport", "GetPositionInfo", upnp.position_info_args(view)))

    assert list(args) == [
        "Track",
        "TrackDuration",
        "TrackMetaData",
        "TrackURI",
        "RelTime",
        "AbsTime",
        "RelCount",
        "AbsCount",
    ]
    assert (args["TrackDuration"], args["RelTime"], args["TrackURI"]) == ("1:02:05", "0:01:01", track.uri)
    item = ET.fromstring(args["TrackMetaData"]).find(f"{DIDL}item")
    assert item is not None
    assert item.findtext(f"{DC}title") == "Café – <Ñandú> & Co"
    assert item.findtext(f"{DC}creator") == 'A "B"'
    assert item.findtext(f"{UPNP}albumArtURI") == upnp.album_art_path(track.uri)
    assert item.findtext(f"{UPNP}class") == "object.item.audioItem.musicTrack"


def test_characters_xml_forbids_are_dropped_rather_than_breaking_the_document():
    track = Track("bell\x07 tab\t", "x")
    view = PlaybackView(LIVING, LIVING.uid, TransportState.PLAYING, track, 0)

    args = out_args(upnp.soap_response("AVTransport", "GetPositionInfo", upnp.position_info_args(view)))

    assert ET.fromstring(args["TrackMetaData"]).find(f".//{DC}title").text == "bell tab\t"  # type: ignore[union-attr]


def test_group_member_reports_its_coordinator_and_no_track():
    view = PlaybackView(KITCHEN, LIVING.uid, TransportState.PLAYING, Track("t"), 5)

    position = dict(upnp.position_info_args(view))
    media = dict(upnp.media_info_args(view))

    assert (position["TrackURI"], position["TrackMetaData"]) == (f"x-rincon:{LIVING.uid}", "")
    assert media["CurrentURI"] == f"x-rincon:{LIVING.uid}"
    assert dict(upnp.transport_info_args(view))["CurrentTransportState"] == "PLAYING"


def test_zone_group_state_carries_exact_locations_and_escaped_names():
    topology = Topology("Sonos_x", (GroupView(LIVING, (LIVING, KITCHEN)),), version=7)

    args = out_args(
        upnp.soap_response("ZoneGroupTopology", "GetZoneGroupState", upnp.zone_group_state_args(topology))
    )

    group = ET.fromstring(args["ZoneGroupState"]).find("ZoneGroups/ZoneGroup")
    assert group is not None
    assert (group.get("Coordinator"), group.get("ID")) == (LIVING.uid, f"{LIVING.uid}:7")
    members = [(m.get("Location"), m.get("ZoneName")) for m in group]
    assert members == [
        ("http://127.0.0.2:1400/xml/device_description.xml", "Living Room"),
        ("http://127.0.0.3:1401/xml/device_description.xml", 'Kitchen "&" <Bar>'),
    ]


def test_scpd_lists_each_action_with_an_argument_list():
    root = ET.fromstring(upnp.scpd(["GetHouseholdID"]))
    ns = "{urn:schemas-upnp-org:service-1-0}"

    action = root.find(f"{ns}actionList/{ns}action")

    assert action is not None
    assert action.findtext(f"{ns}name") == "GetHouseholdID"
    assert action.find(f"{ns}argumentList") is not None


def test_fault_carries_the_upnp_error_code():
    root = ET.fromstring(upnp.upnp_fault(401, "Invalid Action"))

    assert root.findtext(".//{urn:schemas-upnp-org:control-1-0}errorCode") == "401"


def test_device_description_has_what_soco_reads():
    root = ET.fromstring(upnp.device_description(KITCHEN))
    ns = "{urn:schemas-upnp-org:device-1-0}"

    device = root.find(f"{ns}device")

    assert device is not None
    assert device.findtext(f"{ns}roomName") == 'Kitchen "&" <Bar>'
    assert device.findtext(f"{ns}serialNum") == "BB-BB-BB-BB-BB-BB:7"
    assert device.findtext(f"{ns}modelName") == "Sonos One"


def test_track_request_builds_a_track_with_a_generated_cover():
    track = parse_track_request(
        {"title": "T", "artist": "A", "album": "B", "duration_seconds": 99, "cover": {"size": 32}}
    )

    assert (track.title, track.artist, track.album, track.duration_seconds) == ("T", "A", "B", 99)
    assert track.cover is not None
    assert track.cover.data.startswith(b"\xff\xd8")
    assert parse_track_request({"title": "T", "cover": None}).cover is None


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({}, "title must be a non-empty string"),
        ({"title": "  "}, "title must be a non-empty string"),
        ({"title": "t", "artist": 5}, "artist must be a string"),
        ({"title": "t", "duration_seconds": True}, "duration_seconds must be an integer"),
        ({"title": "t", "duration_seconds": -1}, "duration_seconds must be an integer"),
        ({"title": "t", "cover": "yes"}, "cover must be an object"),
        ({"title": "t", "cover": {"size": 4}}, "cover.size must be an integer 16..2048"),
        ({"title": "t", "cover": {"seed": 1}}, "cover.seed must be a string"),
    ],
)
def test_bad_track_requests_say_what_is_wrong(body, message):
    with pytest.raises(BadRequestError, match=message):
        parse_track_request(body)


def test_state_request_accepts_only_transport_states():
    assert parse_state_request({"state": "PAUSED_PLAYBACK"}) is TransportState.PAUSED_PLAYBACK
    with pytest.raises(BadRequestError, match="PLAYING, PAUSED_PLAYBACK, STOPPED"):
        parse_state_request({"state": "playing"})
