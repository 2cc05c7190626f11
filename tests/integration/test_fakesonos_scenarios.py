"""Scenario files, the built-in demo and load mode, run as `python -m fakesonos` and read through soco."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import requests
import soco

from fakesonos.household import Household
from fakesonos.load import LoadDriver, load_household
from fakesonos.scenario import Scenario, ScenarioPlayer, TrackSpec
from harness.fakesonos import control_request, reset_soco
from harness.net import free_port
from harness.processes import REPO_ROOT, service_env
from harness.waiting import wait_for

pytestmark = pytest.mark.timeout(60)


class FakesonosProcess:
    """`python -m fakesonos ...` with its control API on a free port."""

    def __init__(self, args: list[str], tmp_path: Path, **env: str) -> None:
        self.control = f"http://127.0.0.1:{free_port()}"
        self.log_path = tmp_path / "fakesonos.log"
        self._log = self.log_path.open("wb")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "fakesonos", "--control", self.control.removeprefix("http://"), *args],
            cwd=REPO_ROOT,
            env=service_env(**env),
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )
        wait_for(self._healthy, timeout_seconds=20, what=lambda: f"the control API\n{self.output()}")

    def output(self) -> str:
        return self.log_path.read_text(errors="replace")

    def speakers(self) -> list[dict[str, Any]]:
        speakers: list[dict[str, Any]] = control_request(self.control, "GET", "/speakers")[1]
        return speakers

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)
        self._log.close()

    def _healthy(self) -> bool:
        if self.process.poll() is not None:
            raise AssertionError(f"fakesonos exited {self.process.returncode}:\n{self.output()}")
        try:
            with requests.get(self.control + "/healthz", timeout=1) as response:
                return response.status_code == 200
        except requests.exceptions.ConnectionError:
            return False


@pytest.fixture
def fakesonos_process(tmp_path):
    started: list[FakesonosProcess] = []
    reset_soco()

    def start(*args: str, **env: str) -> FakesonosProcess:
        process = FakesonosProcess(list(args), tmp_path, **env)
        started.append(process)
        return process

    yield start
    for process in started:
        process.close()
    reset_soco()


def test_scenario_file_sets_up_groups_and_runs_its_timeline(fakesonos_process, next_ip, tmp_path):
    den, office = next_ip(), next_ip()
    scenario = tmp_path / "faulty.toml"
    scenario.write_text(
        f"""
name = "faulty"
[[speakers]]
room = "Den"
address = "{den}"
[[speakers]]
room = "Office"
address = "{office}"
[[groups]]
coordinator = "Den"
members = ["Office"]
[playlist]
interval_seconds = 60
[[playlist.tracks]]
title = "Opening"
artist = "Band"
source = "streaming"
[[timeline]]
at_seconds = 0.5
action = "track"
speaker = "Den"
track = {{ title = "", source = "radio", station = "Late FM" }}
[[timeline]]
at_seconds = 1.0
action = "fault"
speaker = "Office"
fault = "OFFLINE"
""",
        encoding="utf-8",
    )

    fakesonos = fakesonos_process("--scenario", str(scenario), FAKESONOS_DEMO="", FAKESONOS_SPEAKERS="")

    device = soco.SoCo(office)
    assert device.group.coordinator is soco.SoCo(den)
    wait_for(
        lambda: soco.SoCo(den).get_current_media_info()["channel"] == "Late FM",
        timeout_seconds=10,
        what="the radio step",
    )
    wait_for(
        lambda: next(s for s in fakesonos.speakers() if s["room"] == "Office")["fault"] == "OFFLINE",
        timeout_seconds=10,
        what="the fault step",
    )
    with pytest.raises(requests.exceptions.ConnectionError):
        soco.SoCo(office).get_current_transport_info()


def test_demo_scenario_keeps_fakesonos_speakers_and_demo_off_like_the_compose_e2e(fakesonos_process, next_ip):
    ip = next_ip()

    fakesonos = fakesonos_process(FAKESONOS_SPEAKERS=f"{ip}=Living Room", FAKESONOS_DEMO="off")

    (speaker,) = fakesonos.speakers()
    assert (speaker["ip"], speaker["room"], speaker["title"]) == (ip, "Living Room", "")
    status, _ = control_request(
        fakesonos.control,
        "POST",
        "/speakers/living-room/track",
        {"title": "E2E", "artist": "A", "album": "B"},
    )
    assert status == 200
    assert soco.SoCo(ip).get_current_track_info()["title"] == "E2E"


def test_builtin_demo_plays_on_its_own(fakesonos_process, next_ip):
    living, kitchen = next_ip(), next_ip()

    fakesonos_process(
        "--scenario",
        "demo",
        FAKESONOS_SPEAKERS=f"{living}=Living Room,{kitchen}=Kitchen",
        FAKESONOS_DEMO="on",
        FAKESONOS_DEMO_INTERVAL_SECONDS="0.3",
    )

    first = soco.SoCo(living).get_current_track_info()["title"]
    assert first
    wait_for(
        lambda: soco.SoCo(living).get_current_track_info()["title"] not in ("", first),
        timeout_seconds=10,
        what="the next demo track",
    )


def test_load_mode_command_line_serves_m_speakers_changing_tracks(fakesonos_process, next_ip):
    first = next_ip()
    next_ip(), next_ip()  # load mode numbers its speakers upwards from the first address

    fakesonos = fakesonos_process(
        "--load-speakers",
        "3",
        "--load-interval-seconds",
        "0.2",
        "--load-first-ip",
        first,
        FAKESONOS_SPEAKERS="",
        FAKESONOS_DEMO="",
    )

    speakers = fakesonos.speakers()
    assert [s["room"] for s in speakers] == ["Load 001", "Load 002", "Load 003"]
    assert speakers[0]["ip"] == first
    wait_for(
        lambda: all(s["change_count"] >= 3 for s in fakesonos.speakers()),
        timeout_seconds=10,
        what="every load speaker to change track",
    )
    assert soco.SoCo(speakers[1]["ip"]).get_current_track_info()["title"].startswith("Load Track ")


def test_load_driver_in_process_changes_tracks_that_soco_sees(next_ip):
    addresses = [next_ip() for _ in range(4)]
    household = load_household(addresses).start()
    driver = LoadDriver(household, interval_seconds=0.2)
    driver.start()
    try:
        device = soco.SoCo(addresses[2])
        first = device.get_current_track_info()
        wait_for(
            lambda: device.get_current_track_info()["title"] != first["title"],
            timeout_seconds=5,
            what="a load track change",
        )
        second = device.get_current_track_info()
        assert first["album_art"] != second["album_art"]
        with requests.get(second["album_art"], timeout=5) as response:
            assert response.status_code == 200
    finally:
        driver.stop()
        household.stop()


def _title(household: Household, room: str) -> str:
    track = household.speaker(room).view().track
    return track.title if track else ""


def _hand_test_player(household: Household, hold_seconds: float) -> ScenarioPlayer:
    playlist = tuple(TrackSpec(f"Demo {n}", cover=False) for n in range(5))
    return ScenarioPlayer(household, Scenario("hold", playlist=playlist), 0.2, hold_seconds)


def test_the_demo_leaves_a_zone_changed_by_hand_alone_while_the_other_zones_play_on(
    fake_household, fakesonos_control
):
    household = fake_household("Living Room", "Kitchen")
    player = _hand_test_player(household, hold_seconds=120)
    player.start()
    try:
        control_request(fakesonos_control(household), "POST", "/speakers/kitchen/track", {"title": "By hand"})
        living_changes = household.speaker("living-room").change_count
        wait_for(
            lambda: household.speaker("living-room").change_count >= living_changes + 3,
            timeout_seconds=10,
            what="three more demo tracks in the living room",
        )
        assert _title(household, "kitchen") == "By hand"
    finally:
        player.stop()


def test_the_demo_takes_a_zone_changed_by_hand_back_once_the_hold_is_over(fake_household, fakesonos_control):
    household = fake_household("Living Room", "Kitchen")
    player = _hand_test_player(household, hold_seconds=0.5)
    player.start()
    try:
        control_request(
            fakesonos_control(household), "POST", "/speakers/kitchen/state", {"state": "PAUSED_PLAYBACK"}
        )
        wait_for(
            lambda: (
                _title(household, "kitchen").startswith("Demo")
                and household.speaker("kitchen").view().state.value == "PLAYING"
            ),
            timeout_seconds=10,
            what="the demo to play in the kitchen again",
        )
    finally:
        player.stop()


def test_next_from_soco_counts_as_a_change_by_hand(fake_household):
    household = fake_household("Living Room")
    player = _hand_test_player(household, hold_seconds=120)
    player.start()
    try:
        soco.SoCo(household.speaker("living-room").ip).next()
        chosen = _title(household, "living-room")
        changes = household.speaker("living-room").change_count
        time.sleep(1.0)  # five demo intervals, each of which would have changed the track
        assert (_title(household, "living-room"), household.speaker("living-room").change_count) == (
            chosen,
            changes,
        )
    finally:
        player.stop()
