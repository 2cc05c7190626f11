"""Event bodies, subscription headers and SSDP datagrams, checked with soco's own parsers."""

from __future__ import annotations

import pytest
from soco.events_base import parse_event_xml

from contract.zone import TransportState
from fakesonos import upnp
from fakesonos.events import DEFAULT_TIMEOUT_SECONDS, parse_callback, parse_timeout
from fakesonos.model import Cover, GroupView, PlaybackView, SpeakerInfo, Topology, Track
from fakesonos.ssdp import search_response, search_target

LIVING = SpeakerInfo("127.0.0.2", 1400, "Living Room", "RINCON_AAAAAAAAAAAA01400")
KITCHEN = SpeakerInfo("127.0.0.3", 1400, "Kitchen", "RINCON_BBBBBBBBBBBB01400")
SOCO_M_SEARCH = (
    b"M-SEARCH * HTTP/1.1\nHOST: 239.255.255.250:1900\nMAN: "
    b'"ssdp:discover"\nMX: 1\nST: urn:schemas-upnp-org:device:ZonePlayer:1\n'
)


@pytest.mark.parametrize(
    ("header", "seconds"),
    [
        ("Second-60", 60),
        ("second-5", 5),
        (None, DEFAULT_TIMEOUT_SECONDS),
        ("infinite", DEFAULT_TIMEOUT_SECONDS),
    ],
)
def test_timeout_header_is_granted_in_seconds_never_infinite(header, seconds):
    assert parse_timeout(header) == seconds


@pytest.mark.parametrize(
    ("header", "url"),
    [
        ("<http://127.0.0.1:1400>", "http://127.0.0.1:1400"),
        ("<http://10.0.0.1:1401/a><http://10.0.0.2/b>", "http://10.0.0.1:1401/a"),
        ("http://no-brackets", None),
        (None, None),
    ],
)
def test_callback_header_gives_the_first_url(header, url):
    assert parse_callback(header) == url


def test_av_transport_event_parses_in_soco_with_the_didl_double_escaped():
    track = Track('Café <&> "Ñ"', "A & B", "Alb", cover=Cover(b"x"))
    view = PlaybackView(LIVING, LIVING.uid, TransportState.PLAYING, track, 3)

    body = upnp.av_transport_event(view)
    variables = parse_event_xml(body.encode())

    assert "&amp;lt;DIDL-Lite" in body
    assert variables["transport_state"] == "PLAYING"
    assert variables["current_track_uri"] == track.uri
    assert variables["current_track_meta_data"].title == 'Café <&> "Ñ"'
    assert variables["current_track_meta_data"].creator == "A & B"
    assert variables["enqueued_transport_uri"] == f"x-rincon-queue:{LIVING.uid}#0"
    assert variables["next_track_meta_data"] == ""


def test_stopped_speaker_event_has_empty_values_never_an_empty_didl():
    view = PlaybackView(LIVING, LIVING.uid, TransportState.STOPPED, None, 0)

    variables = parse_event_xml(upnp.av_transport_event(view).encode())

    assert (variables["current_track_meta_data"], variables["av_transport_uri_meta_data"]) == ("", "")


def test_rendering_control_and_topology_events_parse():
    topology = Topology("Sonos_x", (GroupView(LIVING, (LIVING, KITCHEN)),), 4, {LIVING.uid: 11})

    rc = parse_event_xml(upnp.rendering_control_event().encode())
    zgt = parse_event_xml(upnp.zone_group_topology_event(topology, KITCHEN).encode())

    assert rc["volume"]["Master"] == "30"
    assert zgt["zone_group_name"] == "Living Room"
    assert 'BootSeq="11"' in zgt["zone_group_state"]
    assert zgt["zone_player_uui_ds_in_group"] == f"{LIVING.uid},{KITCHEN.uid}"


def test_ssdp_search_from_soco_is_recognised_and_answered_with_the_household():
    reply = search_response(LIVING, "Sonos_hh", 12)

    assert search_target(SOCO_M_SEARCH) == "urn:schemas-upnp-org:device:ZonePlayer:1"
    assert search_target(b"NOTIFY * HTTP/1.1\r\nNT: x\r\n\r\n") is None
    assert len(reply) < 1024  # soco reads at most 1024 bytes
    assert b"LOCATION: http://127.0.0.2:1400/xml/device_description.xml\r\n" in reply
    assert b"X-RINCON-HOUSEHOLD: Sonos_hh\r\n" in reply
    assert b"Sonos/" in reply
