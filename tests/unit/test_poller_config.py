"""The poller's settings: defaults, and one clear line per bad key."""

from __future__ import annotations

import pytest

from contract.errors import ConfigError
from poller.app import watchdog_limit_seconds
from poller.config import Settings, SpeakerAddress


def test_defaults_match_the_design():
    settings = Settings.from_env({})
    assert settings.poll_interval_seconds == 2
    assert settings.art_max_bytes == 10 * 1024 * 1024
    assert [p.name for p in settings.profiles] == ["square720", "bar320x960", "jpeg720"]


def test_zone_workers_default_to_four_and_are_read_from_the_environment():
    assert Settings.from_env({}).zone_workers == 4
    assert Settings.from_env({"ZONE_WORKERS": "1"}).zone_workers == 1


def test_seed_speakers_take_an_optional_port():
    settings = Settings.from_env({"SONOS_SPEAKERS": "192.168.1.20, 127.0.0.2:1401"})
    assert settings.sonos_speakers == (SpeakerAddress("192.168.1.20"), SpeakerAddress("127.0.0.2", 1401))


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("SONOS_SPEAKERS", "kitchen.local"),
        ("SONOS_SPEAKERS", "10.0.0.1:99999"),
        ("POLL_INTERVAL_SECONDS", "fast"),
        ("SONOS_EVENTS", "sometimes"),
        ("REDIS_URL", "localhost:6379"),
        ("LOG_LEVEL", "LOUD"),
        ("EVENT_ADVERTISE_IP", "host"),
        ("ZONE_WORKERS", "0"),
        ("ZONE_WORKERS", "many"),
    ],
)
def test_bad_values_fail_with_the_key_name(key, value):
    with pytest.raises(ConfigError, match=f"^{key}: "):
        Settings.from_env({key: value})


@pytest.mark.parametrize(
    ("environ", "limit_seconds"),
    [
        ({}, 60.0),  # 10 polls of 2 s and two art timeouts of 10 s come to 40 s: the floor holds
        ({"POLL_INTERVAL_SECONDS": "5"}, 70.0),  # 10 x 5 s + 2 x 10 s
        ({"POLL_INTERVAL_SECONDS": "5", "ART_TIMEOUT_SECONDS": "30"}, 110.0),
        ({"POLL_INTERVAL_SECONDS": "5", "WATCHDOG_SECONDS": "45"}, 45.0),  # set explicitly, it wins
    ],
)
def test_the_watchdog_allows_ten_polls_and_two_art_downloads_unless_set(environ, limit_seconds):
    assert watchdog_limit_seconds(Settings.from_env(environ)) == limit_seconds
