"""The JSON control API drives sources, art faults, speaker faults and reboots that soco then sees."""

from __future__ import annotations

import pytest
import requests
import soco

from harness.fakesonos import control_request, metadata_art, subscribe
from harness.waiting import wait_for

pytestmark = [pytest.mark.timeout(30), pytest.mark.usefixtures("soco_events")]


def test_radio_with_station_and_art_fault_set_over_http(fake_household, fakesonos_control):
    household = fake_household("Kitchen")
    control = fakesonos_control(household)
    device = soco.SoCo(household.speaker("kitchen").ip)

    status, body = control_request(
        control,
        "POST",
        "/speakers/kitchen/track",
        {
            "title": "Title",
            "artist": "Artist",
            "source": "radio",
            "station": "Jazz FM",
            "art_fault": "not_found",
            "cover": {"size": 32},
        },
    )

    assert status == 200
    assert (body["source"], body["station"], body["stream_content"], body["art_fault"]) == (
        "radio",
        "Jazz FM",
        "Artist - Title",
        "NOT_FOUND",
    )
    info = device.get_current_track_info()
    assert (info["artist"], info["title"]) == ("Artist", "Title")
    assert device.get_current_media_info()["channel"] == "Jazz FM"
    art = device.music_library.build_album_art_full_uri(metadata_art(info))
    with requests.get(art, timeout=5) as response:
        assert response.status_code == 404


def test_untitled_line_in_and_emptying_the_queue(fake_household, fakesonos_control):
    household = fake_household("Den")
    control = fakesonos_control(household)
    device = soco.SoCo(household.speaker("den").ip)

    assert control_request(control, "POST", "/speakers/den/track", {"source": "line_in"})[0] == 200
    assert device.music_source == "LINE_IN"
    status, body = control_request(control, "DELETE", "/speakers/den/track")
    assert (status, body["state"], body["source"]) == (200, "STOPPED", "")
    assert device.music_source == "NONE"


def test_speaker_fault_and_reboot_over_http(fake_household, fakesonos_control):
    household = fake_household("Den")
    speaker = household.speaker("den")
    control = fakesonos_control(household)
    device = soco.SoCo(speaker.ip)

    status, body = control_request(control, "POST", "/speakers/den/fault", {"fault": "offline"})
    assert (status, body["fault"]) == (200, "OFFLINE")
    with pytest.raises(requests.exceptions.ConnectionError):
        device.get_current_transport_info()
    assert control_request(control, "POST", "/speakers/den/fault", {"fault": None})[1]["fault"] is None
    assert device.get_current_transport_info()["current_transport_state"] == "STOPPED"

    status, body = control_request(control, "POST", "/speakers/den/reboot", {"down_seconds": 0.3})
    assert (status, body["rebooting"], body["boot_seq"]) == (200, True, 11)
    wait_for(
        lambda: not control_request(control, "GET", "/speakers/den")[1]["rebooting"],
        timeout_seconds=5,
        what="the reboot to end",
    )


def test_subscriptions_are_listed(fake_household, fakesonos_control):
    household = fake_household("Den")
    control = fakesonos_control(household)
    sub = subscribe(soco.SoCo(household.speaker("den").ip).avTransport, requested_timeout=60)

    status, subscriptions = control_request(control, "GET", "/speakers/den/subscriptions")

    assert status == 200
    assert [(s["sid"], s["service"], s["timeout_seconds"]) for s in subscriptions] == [
        (sub.sid, "AVTransport", 60)
    ]
    assert control_request(control, "GET", "/speakers/den")[1]["subscriptions"] == 1
    sub.unsubscribe()


@pytest.mark.parametrize(
    ("path", "body", "message"),
    [
        ("/speakers/den/track", {"title": "x", "source": "cd"}, "source must be one of"),
        ("/speakers/den/track", {"title": "x", "art_fault": "melted"}, "'melted' is not one of"),
        ("/speakers/den/track", {"source": "streaming"}, "title must be a non-empty string"),
        ("/speakers/den/fault", {}, 'expected {"fault"'),
        ("/speakers/den/fault", {"fault": "ON_FIRE"}, "fault: 'ON_FIRE' is not one of OFFLINE"),
        ("/speakers/den/reboot", {"down_seconds": -1}, "down_seconds must be a number"),
    ],
)
def test_bad_requests_say_what_is_wrong(fake_household, fakesonos_control, path, body, message):
    control = fakesonos_control(fake_household("Den"))

    status, answer = control_request(control, "POST", path, body)

    assert status == 400
    assert message in answer["error"]


def test_the_root_lists_every_endpoint_and_each_one_it_lists_answers(fake_household, fakesonos_control):
    control = fakesonos_control(fake_household("Den"))

    status, answer = control_request(control, "GET", "/")

    assert status == 200
    listed = {(e["method"], e["path"]) for e in answer["endpoints"]}
    assert {
        ("POST", "/speakers/<room>/track"),
        ("POST", "/groups"),
        ("POST", "/speakers/<room>/fault"),
    } <= listed
    assert "HUGE_PIXELS" in answer["art_faults"]
    for method, path in sorted(listed):
        if method == "GET":
            assert control_request(control, "GET", path.replace("<room>", "den"))[0] == 200, path
