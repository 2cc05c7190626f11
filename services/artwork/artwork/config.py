"""Settings of the artwork service, read once from the environment."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from contract.env import Env
from contract.errors import ConfigError
from contract.profiles import DEFAULT_PROFILES, Profile, parse_profiles
from contract.zone import ZONE_ID_RE

LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
LOG_FORMATS = ("text", "json")
_REDIS_SCHEMES = ("redis", "rediss", "unix")
_PREFIX_RE = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")

# Redis calls get a slice of the request deadline: one request makes at most two round trips,
# each tried at most twice, each try bounded by a connect and a read timeout (8 slices in all).
_REDIS_TIMEOUT_SHARE = 1 / 10
_REDIS_TIMEOUT_CAP_SECONDS = 2.0


@dataclass(frozen=True)
class Settings:
    """Everything the artwork app is configured with."""

    redis_url: str = "redis://127.0.0.1:6379/0"
    redis_prefix: str = "sonos"
    artwork_dir: Path = Path("/data/artwork")
    profiles: tuple[Profile, ...] = parse_profiles(DEFAULT_PROFILES)
    default_zone: str = ""  # empty: the first zone by id
    timeout_seconds: float = 30.0
    # How long a client may take to send a complete request head, and to accept each write.
    read_timeout_seconds: float = 5.0
    log_level: str = "INFO"
    log_format: str = "text"

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> Settings:
        """Read and validate every key; a bad value raises `ConfigError` naming the key."""
        env = Env(environ)
        return cls(
            redis_url=_redis_url(env.text("REDIS_URL", cls.redis_url)),
            redis_prefix=_redis_prefix(env.text("REDIS_PREFIX", cls.redis_prefix)),
            artwork_dir=Path(env.text("ARTWORK_DIR", str(cls.artwork_dir))),
            profiles=parse_profiles(env.text("ARTWORK_PROFILES", DEFAULT_PROFILES)),
            default_zone=_default_zone(env.text("DEFAULT_ZONE", "")),
            timeout_seconds=env.number(
                "ARTWORK_TIMEOUT_SECONDS", cls.timeout_seconds, minimum=1, maximum=600
            ),
            read_timeout_seconds=env.number(
                "ARTWORK_READ_TIMEOUT_SECONDS", cls.read_timeout_seconds, minimum=0.5, maximum=60
            ),
            log_level=env.choice("LOG_LEVEL", cls.log_level, LOG_LEVELS),
            log_format=env.choice("LOG_FORMAT", cls.log_format, LOG_FORMATS),
        )

    def profile(self, name: str) -> Profile | None:
        """The configured profile of that name, if any."""
        return next((p for p in self.profiles if p.name == name), None)

    @property
    def redis_timeout_seconds(self) -> float:
        """Connect and read timeout of one Redis call, small enough to keep the request deadline."""
        return min(_REDIS_TIMEOUT_CAP_SECONDS, self.timeout_seconds * _REDIS_TIMEOUT_SHARE)


def _redis_url(value: str) -> str:
    scheme = urlsplit(value).scheme
    if scheme not in _REDIS_SCHEMES:
        # The URL may carry a password, so only the scheme is echoed.
        raise ConfigError(f"REDIS_URL: scheme {scheme!r} is not one of redis://, rediss://, unix://")
    return value


def _redis_prefix(value: str) -> str:
    if _PREFIX_RE.match(value) is None:
        raise ConfigError(f"REDIS_PREFIX: {value!r} must be 1-64 letters, digits or _.:-")
    return value


def _default_zone(value: str) -> str:
    if value and ZONE_ID_RE.match(value) is None:
        raise ConfigError(f"DEFAULT_ZONE: {value!r} is not a zone id (lowercase letters, digits and -)")
    return value
