"""Settings of the artwork service: defaults, and one clear error per bad key."""

from __future__ import annotations

from pathlib import Path

import pytest

from artwork.config import ServerSettings, Settings
from contract.errors import ConfigError
from contract.profiles import DEFAULT_PROFILES, parse_profiles


def test_an_empty_environment_gives_the_documented_defaults():
    settings = Settings.from_env({})

    assert settings.redis_url == "redis://127.0.0.1:6379/0"
    assert settings.redis_prefix == "sonos"
    assert settings.artwork_dir == Path("/data/artwork")
    assert settings.profiles == parse_profiles(DEFAULT_PROFILES)
    assert settings.default_zone == ""
    assert settings.timeout_seconds == 30
    assert (settings.log_level, settings.log_format) == ("INFO", "text")


def test_every_key_is_read_from_the_environment():
    settings = Settings.from_env(
        {
            "REDIS_URL": "redis://redis:6379/2",
            "REDIS_PREFIX": "house2",
            "ARTWORK_DIR": "/srv/art",
            "ARTWORK_PROFILES": "jpeg480,panel=240x320.png",
            "DEFAULT_ZONE": "kitchen",
            "ARTWORK_TIMEOUT_SECONDS": "12.5",
            "LOG_LEVEL": "debug",
            "LOG_FORMAT": "JSON",
        }
    )

    assert settings.redis_url == "redis://redis:6379/2"
    assert settings.redis_prefix == "house2"
    assert settings.artwork_dir == Path("/srv/art")
    assert [p.name for p in settings.profiles] == ["jpeg480", "panel"]
    assert settings.default_zone == "kitchen"
    assert settings.timeout_seconds == 12.5
    assert (settings.log_level, settings.log_format) == ("DEBUG", "json")


def test_empty_values_count_as_unset():
    assert Settings.from_env({"REDIS_PREFIX": "", "ARTWORK_TIMEOUT_SECONDS": " "}) == Settings.from_env({})


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("REDIS_URL", "http://redis:6379"),
        ("REDIS_PREFIX", "has space"),
        ("ARTWORK_PROFILES", "square720,nonsense"),
        ("DEFAULT_ZONE", "Living Room"),
        ("ARTWORK_TIMEOUT_SECONDS", "soon"),
        ("ARTWORK_TIMEOUT_SECONDS", "0"),
        ("ARTWORK_READ_TIMEOUT_SECONDS", "0.1"),
        ("ARTWORK_READ_TIMEOUT_SECONDS", "forever"),
        ("LOG_LEVEL", "chatty"),
        ("LOG_FORMAT", "xml"),
    ],
)
def test_a_bad_value_fails_with_one_line_naming_the_key(key, value):
    with pytest.raises(ConfigError) as caught:
        Settings.from_env({key: value})

    message = str(caught.value)
    assert message.startswith(f"{key}:")
    assert "\n" not in message


def test_a_bad_redis_url_is_reported_without_echoing_its_password():
    with pytest.raises(ConfigError) as caught:
        Settings.from_env({"REDIS_URL": "http://:hunter2@redis:6379"})

    assert "hunter2" not in str(caught.value)


def test_redis_calls_get_a_small_slice_of_the_request_deadline():
    assert Settings.from_env({}).redis_timeout_seconds == 2.0
    assert Settings.from_env({"ARTWORK_TIMEOUT_SECONDS": "5"}).redis_timeout_seconds == 0.5


def test_profiles_are_looked_up_by_name():
    settings = Settings.from_env({})

    profile = settings.profile("square720")
    assert profile is not None
    assert profile.ext == "bmp"
    assert settings.profile("jpeg480") is None  # built in, but not configured


def test_the_read_timeout_defaults_to_five_seconds_and_can_be_set():
    assert Settings.from_env({}).read_timeout_seconds == 5.0
    assert Settings.from_env({"ARTWORK_READ_TIMEOUT_SECONDS": "2.5"}).read_timeout_seconds == 2.5


def test_the_server_settings_default_to_two_workers_of_four_threads_and_ten_connections_on_8000():
    server = ServerSettings.from_env({})

    assert (server.port, server.workers, server.threads, server.max_connections) == (8000, 2, 4, 10)
    assert server.app == Settings.from_env({})


def test_the_server_settings_are_read_from_the_environment():
    server = ServerSettings.from_env(
        {
            "ARTWORK_PORT": "8123",
            "ARTWORK_WORKERS": "3",
            "ARTWORK_THREADS": "2",
            "ARTWORK_MAX_CONNECTIONS": "5",
            "ARTWORK_PROFILES": "jpeg480",
        }
    )

    assert (server.port, server.workers, server.threads, server.max_connections) == (8123, 3, 2, 5)
    assert [p.name for p in server.app.profiles] == ["jpeg480"]


def test_connections_must_outnumber_threads_so_displays_keep_their_connection():
    with pytest.raises(
        ConfigError, match=r"^ARTWORK_MAX_CONNECTIONS: 4 must be greater than ARTWORK_THREADS \(4\)"
    ):
        ServerSettings.from_env({"ARTWORK_MAX_CONNECTIONS": "4"})
