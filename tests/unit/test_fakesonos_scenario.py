"""Scenario files, the scenario player and load mode, without a network."""

from __future__ import annotations

import tomllib

import pytest

from contract.errors import ConfigError
from contract.zone import TransportState
from fakesonos import Household
from fakesonos.faults import ArtFault, SpeakerFault
from fakesonos.load import COVER_POOL_SIZE, LoadDriver, load_addresses, load_household, load_track
from fakesonos.model import Source
from fakesonos.scenario import (
    Scenario,
    ScenarioPlayer,
    Step,
    TrackSpec,
    apply_step,
    builtin_scenarios,
    load_scenario,
    parse_scenario,
)
from harness.waiting import wait_for

SCENARIO = """
name = "test"
repeat_seconds = 0

[household]
id = "Sonos_test"

[[speakers]]
room = "Den"

[[speakers]]
room = "Office"
address = "127.0.0.9:1401"

[[groups]]
coordinator = "Den"
members = ["Office"]

[playlist]
interval_seconds = 2.5

[[playlist.tracks]]
title = "One"
artist = "A"
source = "radio"
station = "Jazz"
art_fault = "slow_drip"
cover_size = 64

[[timeline]]
at_seconds = 3
action = "fault"
speaker = "Office"
fault = "OFFLINE"

[[timeline]]
at_seconds = 1
action = "track"
speaker = "Den"
track = { title = "Two", source = "streaming", cover = false }
"""


def household_of(*rooms: str) -> Household:
    household = Household("Sonos_unit")
    for n, room in enumerate(rooms, start=2):
        household.add_speaker(f"127.0.0.{n}", room)
    return household


def test_a_scenario_file_describes_household_playlist_and_sorted_timeline():
    scenario = parse_scenario(tomllib.loads(SCENARIO), "test.toml")

    assert (scenario.name, scenario.household_id, scenario.interval_seconds) == ("test", "Sonos_test", 2.5)
    assert [(s.ip, s.port, s.room) for s in scenario.speakers] == [
        ("127.0.0.2", 1400, "Den"),
        ("127.0.0.9", 1401, "Office"),
    ]
    assert scenario.groups == (("Den", ("Office",)),)
    (entry,) = scenario.playlist
    assert (entry.source, entry.station, entry.art_fault, entry.cover_size) == (
        Source.RADIO,
        "Jazz",
        ArtFault.SLOW_DRIP,
        64,
    )
    assert [(s.at_seconds, s.action) for s in scenario.timeline] == [(1.0, "track"), (3.0, "fault")]
    assert scenario.timeline[0].track == TrackSpec("Two", source=Source.STREAMING, cover=False)
    assert scenario.timeline[1].fault is SpeakerFault.OFFLINE


def test_track_spec_builds_a_track_with_a_generated_cover():
    track = TrackSpec("One", "A", source=Source.RADIO, station="Jazz", cover_size=32).track()

    assert (track.source, track.station, track.stream_content) == (Source.RADIO, "Jazz", "A - One")
    assert track.cover is not None
    assert track.cover.data.startswith(b"\xff\xd8")


def test_the_builtin_demo_scenario_is_shipped_and_plays_mixed_sources():
    assert "demo" in builtin_scenarios()
    demo = load_scenario("demo")

    assert [s.room for s in demo.speakers if s.bond is None] == ["Living Room", "Kitchen"]
    assert {entry.source for entry in demo.playlist} >= {Source.LIBRARY, Source.STREAMING, Source.RADIO}
    assert demo.repeat_seconds > 0


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[[speakers]]\naddress = '127.0.0.2'", "speakers[0]: room must be a string"),
        ("[[speakers]]\nroom = 'A'\naddress = 'nowhere'", "address 'nowhere' must look like"),
        ("[[playlist.tracks]]\ntitle = 'x'\nsource = 'cd'", "source must be one of library"),
        ("[[playlist.tracks]]\ntitle = 'x'\nart_fault = 'melted'", "'melted' is not one of NOT_FOUND"),
        ("[[playlist.tracks]]\ntitel = 'x'", "unknown keys ['titel']"),
        ("[[timeline]]\naction = 'explode'\nspeaker = 'A'", "action must be one of track"),
        ("[[timeline]]\naction = 'track'\nspeaker = 'A'", "needs a track ="),
        (
            "[[timeline]]\naction = 'fault'\nspeaker = 'A'\nfault = 'ON_FIRE'",
            "'ON_FIRE' is not one of OFFLINE",
        ),
        ("[[timeline]]\naction = 'group'\nspeaker = 'A'", "members must be a non-empty array"),
        ("[[timeline]]\nat_seconds = -1\naction = 'empty'\nspeaker = 'A'", "at_seconds must be a number"),
        ("groups = 3", "groups must be an array of tables"),
    ],
)
def test_scenario_mistakes_are_config_errors_naming_the_place(text, message):
    with pytest.raises(ConfigError, match=r"x\.toml") as raised:
        parse_scenario(tomllib.loads(text), "x.toml")
    assert message in str(raised.value)


def test_steps_naming_missing_rooms_are_skipped():
    household = household_of("Den")

    apply_step(household, Step(0, "fault", "Garage", fault=SpeakerFault.OFFLINE))
    apply_step(household, Step(0, "group", "Den", members=("Garage",)))

    assert household.speaker("Den").fault is None


def test_player_plays_the_playlist_and_the_timeline_in_order():
    household = household_of("Den", "Office")
    scenario = Scenario(
        "t",
        playlist=(TrackSpec("P0", cover_size=16), TrackSpec("P1", cover_size=16)),
        interval_seconds=60,
        timeline=(
            Step(0.05, "group", "Den", members=("Office",)),
            Step(0.1, "state", "Office", state=TransportState.PAUSED_PLAYBACK),
            Step(0.15, "fault", "Office", fault=SpeakerFault.UPNP_DISABLED),
        ),
    )
    player = ScenarioPlayer(household, scenario)

    player.start()
    try:
        assert household.speaker("Den").view().track.title in {"P0", "P1"}  # type: ignore[union-attr]
        wait_for(lambda: household.speaker("Office").fault, timeout_seconds=5, what="the last step")
    finally:
        player.stop()
    assert household.coordinator_of("Office") is household.speaker("Den")
    assert household.speaker("Den").view().state is TransportState.PAUSED_PLAYBACK


def test_repeating_timeline_runs_again():
    household = household_of("Den")
    scenario = Scenario(
        "t",
        timeline=(Step(0.01, "track", "Den", track=TrackSpec("again", cover=False)),),
        repeat_seconds=0.05,
    )
    player = ScenarioPlayer(household, scenario)
    player.start()
    try:
        wait_for(lambda: household.speaker("Den").change_count >= 3, timeout_seconds=5, what="3 repeats")
    finally:
        player.stop()


def test_load_addresses_skip_network_and_broadcast_looking_ones():
    assert load_addresses(3) == ["127.0.0.2", "127.0.0.3", "127.0.0.4"]
    assert load_addresses(3, "127.0.0.254") == ["127.0.0.254", "127.0.1.1", "127.0.1.2"]


def test_load_tracks_are_distinct_and_covers_come_from_a_pool():
    tracks = [load_track(speaker, change) for speaker in range(4) for change in range(20)]

    assert len({t.uri for t in tracks}) == len(tracks)
    covers = {id(t.cover) for t in tracks}
    assert 1 < len(covers) <= COVER_POOL_SIZE


def test_load_driver_changes_every_speaker_every_interval():
    household = load_household(load_addresses(5, "127.0.0.10"), "Sonos_load")
    driver = LoadDriver(household, interval_seconds=0.1)

    driver.start()
    try:
        wait_for(lambda: driver.changes >= 15, timeout_seconds=5, what="three rounds of changes")
    finally:
        driver.stop()
    assert all(speaker.change_count >= 3 for speaker in household.speakers)
    assert [s.room for s in household.speakers][:2] == ["Load 001", "Load 002"]
