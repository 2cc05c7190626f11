"""The settings both services read, with their defaults, parsed in one place."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from contract.env import Env, default_zone, redis_prefix, redis_url
from contract.logs import LOG_FORMATS, LOG_LEVELS
from contract.profiles import DEFAULT_PROFILES, Profile, parse_profiles


@dataclass(frozen=True)
class CommonSettings:
    """Redis, the artwork volume, the profiles, the default zone and logging: shared by both services."""

    redis_url: str = "redis://127.0.0.1:6379/0"
    redis_prefix: str = "sonos"
    artwork_dir: Path = Path("/data/artwork")
    profiles: tuple[Profile, ...] = parse_profiles(DEFAULT_PROFILES)
    default_zone: str = ""  # empty: the first zone by id
    log_level: str = "INFO"
    log_format: str = "text"

    @classmethod
    def common_from_env(cls, env: Env) -> dict[str, Any]:
        """The shared keys as constructor arguments of a service's settings; `ConfigError` names a bad key."""
        return {
            "redis_url": redis_url(env, cls.redis_url),
            "redis_prefix": redis_prefix(env, cls.redis_prefix),
            "artwork_dir": Path(env.text("ARTWORK_DIR", str(cls.artwork_dir))),
            "profiles": parse_profiles(env.text("ARTWORK_PROFILES", DEFAULT_PROFILES)),
            "default_zone": default_zone(env),
            "log_level": env.choice("LOG_LEVEL", cls.log_level, LOG_LEVELS),
            "log_format": env.choice("LOG_FORMAT", cls.log_format, LOG_FORMATS),
        }
