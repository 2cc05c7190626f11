"""Command-line and environment parsing of fakesonos."""

from __future__ import annotations

import pytest

from contract.errors import ConfigError
from fakesonos import Bond
from fakesonos.cli import Config, SpeakerSpec, build_household, main, parse_config
from fakesonos.scenario import load_scenario


def test_defaults_are_two_rooms_with_bonded_speakers_demo_on_and_local_control():
    config = parse_config([], {})

    assert config == Config(
        speakers=(
            SpeakerSpec("127.0.0.2", 1400, "Living Room"),
            SpeakerSpec("127.0.0.3", 1400, "Kitchen"),
            SpeakerSpec("127.0.0.4", 1400, "Living Room", Bond.SUB),
            SpeakerSpec("127.0.0.5", 1400, "Living Room", Bond.SURROUND_LEFT),
            SpeakerSpec("127.0.0.6", 1400, "Living Room", Bond.SURROUND_RIGHT),
            SpeakerSpec("127.0.0.7", 1400, "Kitchen", Bond.RIGHT),
        ),
        control=("127.0.0.1", 5005),
        demo=True,
        demo_interval_seconds=8.0,
        household_id=config.household_id,
        log_level="INFO",
        scenario=load_scenario("demo"),
    )
    assert config.household_id.startswith("Sonos_")
    assert (config.load_speakers, config.ssdp) == (0, False)


def test_environment_configures_everything():
    config = parse_config(
        [],
        {
            "FAKESONOS_SPEAKERS": "127.0.0.7:1401=Den, 127.0.0.8=Café",
            "FAKESONOS_CONTROL": "0.0.0.0:6006",
            "FAKESONOS_DEMO": "off",
            "FAKESONOS_DEMO_INTERVAL_SECONDS": "2.5",
            "FAKESONOS_HOUSEHOLD_ID": "Sonos_env",
        },
    )

    assert config.speakers == (SpeakerSpec("127.0.0.7", 1401, "Den"), SpeakerSpec("127.0.0.8", 1400, "Café"))
    assert (config.control, config.demo, config.demo_interval_seconds, config.household_id) == (
        ("0.0.0.0", 6006),
        False,
        2.5,
        "Sonos_env",
    )


def test_flags_win_over_environment():
    environ = {
        "FAKESONOS_SPEAKERS": "127.0.0.7=Den",
        "FAKESONOS_DEMO": "off",
        "FAKESONOS_CONTROL": "127.0.0.1:1",
    }

    config = parse_config(
        [
            "--speaker",
            "127.0.0.9=Office",
            "--demo",
            "--control",
            "127.0.0.1:7007",
            "--demo-interval-seconds",
            "1",
        ],
        environ,
    )

    assert config.speakers == (SpeakerSpec("127.0.0.9", 1400, "Office"),)
    assert (config.demo, config.control, config.demo_interval_seconds) == (True, ("127.0.0.1", 7007), 1.0)


@pytest.mark.parametrize(
    ("argv", "environ", "message"),
    [
        (["--speaker", "localhost=Den"], {}, "'localhost' is not an IPv4 address"),
        (["--speaker", "127.0.0.2"], {}, "must look like 127.0.0.2=Living Room"),
        (["--speaker", "127.0.0.2:99999=Den"], {}, "port '99999' must be an integer 1..65535"),
        (["--speaker", "127.0.0.2=A", "--speaker", "127.0.0.2=B"], {}, "127.0.0.2:1400 is given twice"),
        (["--speaker", "127.0.0.2=Den", "--speaker", "127.0.0.3=den"], {}, "same zone id 'den'"),
        (["--control", "5005"], {}, "--control: '5005' must look like 127.0.0.1:5005"),
        (["--demo-interval-seconds", "0"], {}, "--demo-interval-seconds: 0 must be at least 0.1"),
        (["--bogus"], {}, "unrecognized arguments: --bogus"),
        ([], {"FAKESONOS_DEMO": "maybe"}, "FAKESONOS_DEMO: 'maybe' must be on or off"),
        ([], {"FAKESONOS_SPEAKERS": "127.0.0.300=Den"}, "FAKESONOS_SPEAKERS: '127.0.0.300'"),
        (
            [],
            {"FAKESONOS_DEMO_INTERVAL_SECONDS": "soon"},
            "FAKESONOS_DEMO_INTERVAL_SECONDS: 'soon' is not a number",
        ),
    ],
)
def test_bad_configuration_exits_2_with_one_clear_line(argv, environ, message, capsys):
    assert main(argv, environ) == 2

    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("fakesonos: error: ")
    assert message in lines[0]


def test_speakers_from_the_environment_replace_the_scenarios_but_keep_its_playlist():
    config = parse_config(["--scenario", "demo"], {"FAKESONOS_SPEAKERS": "127.0.200.2=Living Room"})

    assert config.speakers == (SpeakerSpec("127.0.200.2", 1400, "Living Room"),)
    assert config.scenario is not None
    assert config.scenario.name == "demo"
    assert config.scenario.playlist


def test_load_mode_makes_m_speakers_from_127_0_0_2():
    config = parse_config(["--load-speakers", "300", "--load-interval-seconds", "0.5", "--ssdp"], {})

    assert len(config.speakers) == 300
    assert (config.speakers[0].ip, config.speakers[-1].ip) == (
        "127.0.0.2",
        "127.0.1.47",
    )  # .255 and .0 skipped
    assert (config.load_speakers, config.load_interval_seconds, config.ssdp) == (300, 0.5, True)


def test_scenario_comes_from_the_environment(tmp_path):
    path = tmp_path / "mine.toml"
    path.write_text('name = "mine"\n[[speakers]]\nroom = "Den"\naddress = "127.0.0.9:1401"\n')

    config = parse_config([], {"FAKESONOS_SCENARIO": str(path)})

    assert config.speakers == (SpeakerSpec("127.0.0.9", 1401, "Den"),)
    assert config.scenario is not None
    assert config.scenario.name == "mine"


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--scenario", "nosuch"], "scenario 'nosuch'"),
        (["--load-speakers", "many"], "--load-speakers: 'many' must be an integer"),
        (["--load-interval-seconds", "0"], "--load-interval-seconds: 0 must be at least 0.01"),
    ],
)
def test_bad_scenario_and_load_options_exit_2(argv, message, capsys):
    assert main(argv, {}) == 2

    assert message in capsys.readouterr().err


def test_parse_config_raises_config_error():
    with pytest.raises(ConfigError, match="household id"):
        parse_config(["--household-id", "has space"], {})


def test_a_speaker_can_be_bonded_to_a_room_by_a_suffix():
    config = parse_config(
        [
            "--speaker",
            "127.0.0.2=Living Room",
            "--speaker",
            "127.0.0.3=Living Room+sub",
            "--speaker",
            "127.0.0.4=C++",
        ],
        {},
    )

    assert config.speakers == (
        SpeakerSpec("127.0.0.2", 1400, "Living Room"),
        SpeakerSpec("127.0.0.3", 1400, "Living Room", Bond.SUB),
        SpeakerSpec("127.0.0.4", 1400, "C++"),
    )


def test_the_demo_household_has_a_home_theatre_set_and_a_stereo_pair():
    household = build_household(parse_config(["--scenario", "demo"], {}))

    groups = household.topology().groups
    assert [(g.coordinator.room, sorted(str(m.bond) for m in g.members if m.bond)) for g in groups] == [
        ("Living Room", ["sub", "surround-left", "surround-right"]),
        ("Kitchen", ["right"]),
    ]
