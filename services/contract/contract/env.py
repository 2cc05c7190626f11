"""Typed reads of environment variables, failing with one line that names the key."""

from __future__ import annotations

import re
from collections.abc import Mapping
from urllib.parse import urlsplit

from contract.errors import ConfigError
from contract.zone import ZONE_ID_RE

_TRUE = {"on", "true", "1", "yes"}
_FALSE = {"off", "false", "0", "no"}


class Env:
    """Reads one environment mapping; empty values count as unset."""

    def __init__(self, environ: Mapping[str, str]) -> None:
        self._environ = environ

    def text(self, key: str, default: str) -> str:
        """A string value, stripped."""
        value = self._environ.get(key, "").strip()
        return value or default

    def integer(self, key: str, default: int, *, minimum: int, maximum: int | None = None) -> int:
        """An integer within bounds."""
        raw = self.text(key, "")
        if not raw:
            return default
        try:
            value = int(raw)
        except ValueError:
            raise ConfigError(f"{key}: {raw!r} is not an integer") from None
        if value < minimum or (maximum is not None and value > maximum):
            upper = "" if maximum is None else f" and at most {maximum}"
            raise ConfigError(f"{key}: {value} must be at least {minimum}{upper}")
        return value

    def number(self, key: str, default: float, *, minimum: float, maximum: float | None = None) -> float:
        """A number within bounds."""
        raw = self.text(key, "")
        if not raw:
            return default
        try:
            value = float(raw)
        except ValueError:
            raise ConfigError(f"{key}: {raw!r} is not a number") from None
        if not (value >= minimum and (maximum is None or value <= maximum)):
            upper = "" if maximum is None else f" and at most {maximum}"
            raise ConfigError(f"{key}: {raw} must be at least {minimum}{upper}")
        return value

    def flag(self, key: str, default: bool) -> bool:
        """`on`/`off` (also true/false, 1/0, yes/no)."""
        raw = self.text(key, "").lower()
        if not raw:
            return default
        if raw in _TRUE:
            return True
        if raw in _FALSE:
            return False
        raise ConfigError(f"{key}: {raw!r} must be on or off")

    def choice(self, key: str, default: str, choices: tuple[str, ...]) -> str:
        """One of a fixed set of values, case-insensitive."""
        value = self.text(key, default)
        for choice in choices:
            if value.lower() == choice.lower():
                return choice
        raise ConfigError(f"{key}: {value!r} must be one of {', '.join(choices)}")

    def items(self, key: str) -> tuple[str, ...]:
        """A comma-separated list; empty items dropped."""
        return tuple(item.strip() for item in self.text(key, "").split(",") if item.strip())


_REDIS_SCHEMES = ("redis", "rediss", "unix")
_PREFIX_RE = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")


def redis_url(env: Env, default: str) -> str:
    """`REDIS_URL`; only its scheme is ever echoed, since the URL may carry a password."""
    value = env.text("REDIS_URL", default)
    scheme = urlsplit(value).scheme
    if scheme not in _REDIS_SCHEMES:
        raise ConfigError(f"REDIS_URL: scheme {scheme!r} is not one of redis://, rediss://, unix://")
    return value


def redis_prefix(env: Env, default: str) -> str:
    """`REDIS_PREFIX`: letters, digits and `_.:-`."""
    value = env.text("REDIS_PREFIX", default)
    if _PREFIX_RE.match(value) is None:
        raise ConfigError(f"REDIS_PREFIX: {value!r} must be 1-64 letters, digits or _.:-")
    return value


def default_zone(env: Env) -> str:
    """`DEFAULT_ZONE`: empty, or a zone id."""
    value = env.text("DEFAULT_ZONE", "")
    if value and ZONE_ID_RE.match(value) is None:
        raise ConfigError(f"DEFAULT_ZONE: {value!r} is not a zone id (lowercase letters, digits and -)")
    return value
