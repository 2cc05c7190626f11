"""The poller's settings, built once from the environment at start."""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from contract.env import Env
from contract.errors import ConfigError
from contract.settings import CommonSettings


@dataclass(frozen=True)
class SpeakerAddress:
    """A seed speaker: IPv4 literal and port."""

    ip: str
    port: int = 1400

    def __str__(self) -> str:
        return self.ip if self.port == 1400 else f"{self.ip}:{self.port}"


@dataclass(frozen=True)
class Settings(CommonSettings):
    """Everything the poller reads from the environment; see .env.example for units and defaults."""

    sonos_speakers: tuple[SpeakerAddress, ...] = ()
    sonos_zones: tuple[str, ...] = ()
    sonos_household: str = ""
    sonos_events: bool = True
    event_listener_port: int = 1400
    event_advertise_ip: str = ""
    poll_interval_seconds: float = 2.0
    discovery_interval_seconds: float = 60.0
    art_max_bytes: int = 10 * 1024 * 1024
    art_timeout_seconds: float = 10.0
    art_max_pixels: int = 40_000_000
    cache_max_mb: int = 200
    temp_max_age_seconds: float = 300.0
    cpu_threshold_percent: float = 70.0
    memory_threshold_percent: float = 80.0
    resource_check_interval_seconds: float = 30.0
    qualia_mount: str = ""
    speaker_timeout_seconds: float = 3.0
    zone_workers: int = 4
    heartbeat_file: Path = Path("/tmp/poller.heartbeat")  # noqa: S108 - tmpfs in the container
    watchdog_seconds: float = 0.0  # 0: derived from the poll interval and the art timeout

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> Settings:
        """Read and validate every key; raise ConfigError naming the first bad one."""
        env = Env(environ)
        return cls(
            **cls.common_from_env(env),
            sonos_speakers=tuple(_speaker(item) for item in env.items("SONOS_SPEAKERS")),
            sonos_zones=env.items("SONOS_ZONES"),
            sonos_household=env.text("SONOS_HOUSEHOLD", cls.sonos_household),
            sonos_events=env.flag("SONOS_EVENTS", default=cls.sonos_events),
            event_listener_port=env.integer(
                "EVENT_LISTENER_PORT", cls.event_listener_port, minimum=1, maximum=65535
            ),
            event_advertise_ip=_optional_ip("EVENT_ADVERTISE_IP", env.text("EVENT_ADVERTISE_IP", "")),
            poll_interval_seconds=env.number(
                "POLL_INTERVAL_SECONDS", cls.poll_interval_seconds, minimum=0.1, maximum=3600
            ),
            discovery_interval_seconds=env.number(
                "DISCOVERY_INTERVAL_SECONDS", cls.discovery_interval_seconds, minimum=1, maximum=86400
            ),
            art_max_bytes=env.integer("ART_MAX_BYTES", cls.art_max_bytes, minimum=1024),
            art_timeout_seconds=env.number(
                "ART_TIMEOUT_SECONDS", cls.art_timeout_seconds, minimum=0.1, maximum=600
            ),
            art_max_pixels=env.integer("ART_MAX_PIXELS", cls.art_max_pixels, minimum=4096),
            cache_max_mb=env.integer("CACHE_MAX_MB", cls.cache_max_mb, minimum=1),
            temp_max_age_seconds=env.number("TEMP_MAX_AGE_SECONDS", cls.temp_max_age_seconds, minimum=1),
            cpu_threshold_percent=env.number(
                "CPU_THRESHOLD_PERCENT", cls.cpu_threshold_percent, minimum=1, maximum=100
            ),
            memory_threshold_percent=env.number(
                "MEMORY_THRESHOLD_PERCENT", cls.memory_threshold_percent, minimum=1, maximum=100
            ),
            resource_check_interval_seconds=env.number(
                "RESOURCE_CHECK_INTERVAL_SECONDS",
                cls.resource_check_interval_seconds,
                minimum=1,
                maximum=3600,
            ),
            qualia_mount=env.text("QUALIA_MOUNT", cls.qualia_mount),
            speaker_timeout_seconds=env.number(
                "SPEAKER_TIMEOUT_SECONDS", cls.speaker_timeout_seconds, minimum=0.1, maximum=60
            ),
            zone_workers=env.integer("ZONE_WORKERS", cls.zone_workers, minimum=1, maximum=32),
            heartbeat_file=Path(env.text("POLLER_HEARTBEAT_FILE", str(cls.heartbeat_file))),
            watchdog_seconds=env.number("WATCHDOG_SECONDS", cls.watchdog_seconds, minimum=0, maximum=86400),
        )


def _speaker(item: str) -> SpeakerAddress:
    host, _, port = item.partition(":")
    try:
        ipaddress.IPv4Address(host)
    except ValueError:
        # soco needs IPv4 literals (it calls inet_aton), so names are refused here, not later.
        raise ConfigError(f"SONOS_SPEAKERS: {item!r} must be an IPv4 address, optionally ip:port") from None
    if not port:
        return SpeakerAddress(host)
    if not port.isdigit() or not 1 <= int(port) <= 65535:
        raise ConfigError(f"SONOS_SPEAKERS: {item!r} has an invalid port")
    return SpeakerAddress(host, int(port))


def _optional_ip(key: str, value: str) -> str:
    if value:
        try:
            ipaddress.IPv4Address(value)
        except ValueError:
            raise ConfigError(f"{key}: {value!r} must be an IPv4 address or empty") from None
    return value
