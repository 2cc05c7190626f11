"""The poller's settings: defaults, and one clear line per bad key."""

from __future__ import annotations

import pytest

from contract.errors import ConfigError
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
