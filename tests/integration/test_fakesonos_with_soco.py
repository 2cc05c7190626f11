"""The emulated household, driven by the real, unmodified soco library."""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
import soco
import soco.exceptions
from PIL import Image

from contract.zone import TransportState
from fakesonos import Track
from fakesonos.covers import generated_cover
from fakesonos.scenario import TrackSpec
from harness.fakesonos import control_request
from harness.net import free_port
from harness.waiting import wait_for

pytestmark = pytest.mark.timeout(30)

REPO_ROOT = Path(__file__).resolve().parents[2]


def library_track(title: str = "Song One", artist: str = "Artist A", album: str = "Album X") -> Track:
    return Track(title, artist, album, 210, cover=generated_cover(title, artist, size_pixels=64))


def test_soco_reads_name_uid_and_coordinator_flag(fake_household):
    household = fake_household("Living Room")
    speaker = household.speaker("living-room")

    device = soco.SoCo(speaker.ip)

    assert device.player_name == "Living Room"
    assert device.uid == speaker.uid
    assert device.uid.startswith("RINCON_")
    assert device.uid.endswith("01400")
    assert device.is_coordinator is True
    assert device.household_id == household.household_id


def test_group_member_points_at_its_coordinator(fake_household):
    household = fake_household("Living Room", "Kitchen")
    living, kitchen = household.speaker("living-room"), household.speaker("kitchen")
    living.set_track(library_track())
    household.group(living, [kitchen])

    member = soco.SoCo(kitchen.ip)

    assert member.is_coordinator is False
    assert member.group.coordinator is soco.SoCo(living.ip)
    assert {m.player_name for m in member.group.members} == {"Living Room", "Kitchen"}
    member_track = member.get_current_track_info()
    assert member_track["uri"] == f"x-rincon:{living.uid}"
    assert member_track["title"] == ""
    assert member.group.coordinator.get_current_track_info()["title"] == "Song One"


def test_ungrouping_gives_each_speaker_its_own_group_again(fake_household):
    household = fake_household("Living Room", "Kitchen")
    living, kitchen = household.speaker("living-room"), household.speaker("kitchen")
    household.group(living, [kitchen])
    household.ungroup(kitchen)

    member = soco.SoCo(kitchen.ip)

    assert member.is_coordinator is True
    assert len(member.all_groups) == 2


def test_track_info_has_metadata_and_absolute_art_url_serving_a_jpeg(fake_household):
    household = fake_household("Living Room")
    speaker = household.speaker("living-room")
    speaker.set_track(
        Track("Song One", "Artist A", "Album X", 210, cover=generated_cover("Song One", "Artist A"))
    )

    info = soco.SoCo(speaker.ip).get_current_track_info()

    assert (info["title"], info["artist"], info["album"]) == ("Song One", "Artist A", "Album X")
    assert info["duration"] == "0:03:30"
    assert info["album_art"].startswith(f"http://{speaker.ip}:1400/getaa?s=1&u=")
    with requests.get(info["album_art"], timeout=5) as response:
        assert response.status_code == 200
        assert response.headers["Content-Type"] == "image/jpeg"
        with Image.open(io.BytesIO(response.content)) as image:
            assert (image.format, image.size) == ("JPEG", (640, 640))


def test_track_without_cover_has_no_art_url_and_getaa_is_404(fake_household):
    household = fake_household("Living Room")
    speaker = household.speaker("living-room")
    speaker.set_track(Track("Bare", "Nobody", "Nothing"))

    info = soco.SoCo(speaker.ip).get_current_track_info()

    assert info["title"] == "Bare"
    assert info["album_art"] == ""
    with requests.get(f"{speaker.base_url}/getaa?s=1&u=x-file-cifs%3a%2f%2fnowhere", timeout=5) as response:
        assert response.status_code == 404


def test_non_ascii_and_markup_round_trip_intact(fake_household):
    household = fake_household("Living Room")
    speaker = household.speaker("living-room")
    speaker.set_track(library_track("Café – Ñandú", "Sigur Rós & <Friends>", 'Ágætis "byrjun"'))

    info = soco.SoCo(speaker.ip).get_current_track_info()

    assert info["title"] == "Café – Ñandú"
    assert info["artist"] == "Sigur Rós & <Friends>"
    assert info["album"] == 'Ágætis "byrjun"'


def test_transport_and_media_info_follow_the_state(fake_household):
    household = fake_household("Living Room")
    speaker = household.speaker("living-room")
    device = soco.SoCo(speaker.ip)

    assert device.get_current_transport_info()["current_transport_state"] == "STOPPED"
    assert device.get_current_media_info() == {"uri": "", "channel": ""}

    speaker.set_track(library_track())
    speaker.set_state(TransportState.PAUSED_PLAYBACK)

    transport = device.get_current_transport_info()
    assert transport == {
        "current_transport_state": "PAUSED_PLAYBACK",
        "current_transport_status": "OK",
        "current_transport_speed": "1",
    }
    assert device.get_current_media_info() == {"uri": f"x-rincon-queue:{speaker.uid}#0", "channel": ""}


def test_speaker_info_comes_from_the_device_description(fake_household):
    household = fake_household("Kitchen")
    speaker = household.speaker("kitchen")

    info = soco.SoCo(speaker.ip).get_speaker_info(timeout=5)

    assert info["zone_name"] == "Kitchen"
    assert info["uid"] == speaker.uid
    assert info["model_name"] == "Sonos One"


def test_track_set_through_control_api_is_seen_by_soco_at_once(fake_household, fakesonos_control):
    household = fake_household("Living Room", "Kitchen")
    control = fakesonos_control(household)
    device = soco.SoCo(household.speaker("kitchen").ip)

    status, body = control_request(
        control,
        "POST",
        "/speakers/kitchen/track",
        {"title": "Über Blue", "artist": "Zoë", "album": "Nights", "cover": {"size": 64, "seed": "s"}},
    )

    assert status == 200
    assert (body["zone_id"], body["state"], body["title"]) == ("kitchen", "PLAYING", "Über Blue")
    info = device.get_current_track_info()
    assert (info["title"], info["artist"], info["album"]) == ("Über Blue", "Zoë", "Nights")
    assert device.get_current_transport_info()["current_transport_state"] == "PLAYING"
    with (
        requests.get(info["album_art"], timeout=5) as response,
        Image.open(io.BytesIO(response.content)) as image,
    ):
        assert image.size == (64, 64)

    status, body = control_request(control, "POST", f"/speakers/{device.uid}/state", {"state": "STOPPED"})
    assert (status, body["state"]) == (200, "STOPPED")
    assert device.get_current_transport_info()["current_transport_state"] == "STOPPED"


def test_control_api_reports_speakers_and_rejects_bad_input(fake_household, fakesonos_control):
    household = fake_household("Living Room", "Kitchen")
    control = fakesonos_control(household)
    living = household.speaker("living-room")

    assert control_request(control, "GET", "/healthz") == (200, {"status": "ok"})
    status, speakers = control_request(control, "GET", "/speakers")
    assert status == 200
    assert [(s["room"], s["zone_id"], s["ip"], s["state"]) for s in speakers] == [
        ("Living Room", "living-room", living.ip, "STOPPED"),
        ("Kitchen", "kitchen", household.speaker("kitchen").ip, "STOPPED"),
    ]
    assert control_request(control, "GET", f"/speakers/{living.ip}")[1]["uid"] == living.uid

    status, body = control_request(control, "POST", "/speakers/nowhere/track", {"title": "x"})
    assert status == 404
    assert "nowhere" in body["error"]
    status, body = control_request(control, "POST", "/speakers/kitchen/track", {"artist": "no title"})
    assert status == 400
    assert "title" in body["error"]
    status, body = control_request(control, "POST", "/speakers/kitchen/state", {"state": "DANCING"})
    assert status == 400
    assert "PLAYING" in body["error"]
    status, body = control_request(control, "POST", "/speakers/kitchen/track", ["not", "an", "object"])
    assert status == 400
    assert "object" in body["error"]


def test_grouping_through_control_api(fake_household, fakesonos_control):
    household = fake_household("Living Room", "Kitchen")
    control = fakesonos_control(household)

    status, speakers = control_request(
        control, "POST", "/groups", {"coordinator": "living-room", "members": ["kitchen"]}
    )

    assert status == 200
    kitchen = next(s for s in speakers if s["zone_id"] == "kitchen")
    assert kitchen["is_coordinator"] is False
    assert soco.SoCo(kitchen["ip"]).group.coordinator.player_name == "Living Room"


def test_unknown_soap_action_raises_upnp_exception(fake_household):
    household = fake_household("Living Room")
    device = soco.SoCo(household.speaker("living-room").ip)

    with pytest.raises(soco.exceptions.SoCoUPnPException) as raised:
        device.avTransport.SetCrossfadeMode([("InstanceID", 0), ("CrossfadeMode", 1)])

    assert raised.value.error_code == "401"


def test_stop_cuts_open_keep_alive_connections(fake_household):
    household = fake_household("Living Room")
    speaker = household.speaker("living-room")
    with requests.Session() as session:
        with session.get(f"{speaker.base_url}/xml/device_description.xml", timeout=5) as response:
            assert response.status_code == 200
        household.stop()
        with pytest.raises(requests.exceptions.ConnectionError):
            session.get(f"{speaker.base_url}/xml/device_description.xml", timeout=5)


def test_command_line_serves_until_sigterm_then_exits_zero(next_ip):
    control_port = free_port()
    ip = next_ip()
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(
            str(REPO_ROOT / "services" / name) for name in ("contract", "fakesonos")
        ),
        "FAKESONOS_DEMO_INTERVAL_SECONDS": "0.2",
        "FAKESONOS_DEMO": "",  # the default (on), whatever the caller's environment says
    }
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "fakesonos",
            "--speaker",
            f"{ip}=Den",
            "--control",
            f"127.0.0.1:{control_port}",
        ],
        cwd=REPO_ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        url = f"http://127.0.0.1:{control_port}"
        wait_for(lambda: _answers(url + "/healthz"), timeout_seconds=10, what="the control API")
        status, speakers = control_request(url, "GET", "/speakers")
        assert status == 200
        assert speakers[0]["room"] == "Den"
        assert speakers[0]["title"]  # demo mode is on by default

        started = time.monotonic()
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=5) == 0
        assert time.monotonic() - started < 2
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        assert process.stderr is not None
        stderr = process.stderr.read().decode()
        process.stderr.close()
    assert "Den" in stderr


def _answers(url: str) -> bool:
    try:
        with requests.get(url, timeout=1) as response:
            return response.status_code == 200
    except requests.exceptions.ConnectionError:
        return False


def test_command_line_exits_1_when_a_speaker_address_cannot_be_bound():
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "fakesonos",
            "--speaker",
            "192.0.2.1=Den",
            "--no-demo",
            "--control",
            "127.0.0.1:0",
        ],
        cwd=REPO_ROOT,
        env={**os.environ, "PYTHONPATH": _pythonpath()},
        capture_output=True,
        text=True,
        timeout=10,
        check=False,
    )

    assert result.returncode == 1
    assert "cannot listen on 192.0.2.1:1400" in result.stderr


def _pythonpath() -> str:
    return os.pathsep.join(str(REPO_ROOT / "services" / name) for name in ("contract", "fakesonos"))


# --- transport commands, as a Sonos app or soco sends them -----------------------------------------


def transport_state(device: soco.SoCo) -> str:
    return str(device.get_current_transport_info()["current_transport_state"])


def test_soco_pause_play_and_stop_change_the_transport_state_and_keep_the_track(fake_household):
    speaker = fake_household("Living Room").speaker("living-room")
    speaker.set_track(library_track("Kept"))
    device = soco.SoCo(speaker.ip)

    device.pause()
    assert transport_state(device) == "PAUSED_PLAYBACK"
    device.play()
    assert transport_state(device) == "PLAYING"
    device.stop()
    assert transport_state(device) == "STOPPED"
    assert device.get_current_track_info()["title"] == "Kept"


def test_soco_next_and_previous_step_through_the_households_queue_and_wrap(fake_household):
    household = fake_household("Living Room")
    household.set_queue([TrackSpec("One", cover=False), TrackSpec("Two", cover=False), TrackSpec("Three")])
    speaker = household.speaker("living-room")
    speaker.set_track(TrackSpec("One").track())
    device = soco.SoCo(speaker.ip)

    titles = []
    for step in (device.next, device.next, device.next, device.previous):
        step()
        titles.append(device.get_current_track_info()["title"])

    assert titles == ["Two", "Three", "One", "Three"]
    assert transport_state(device) == "PLAYING"


@pytest.mark.parametrize("command", ["play", "pause", "next", "previous"])
def test_a_command_with_nothing_to_play_is_upnp_error_701(fake_household, command: str):
    speaker = fake_household("Living Room").speaker("living-room")
    device = soco.SoCo(speaker.ip)

    with pytest.raises(soco.exceptions.SoCoUPnPException) as raised:
        getattr(device, command)()

    assert raised.value.error_code == "701"
