"""Exceptions shared by both services, and how a service stops on its configuration."""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping

# sysexits' EX_CONFIG: a service that stops on its configuration says so with its own code, so a
# wrapper (compose's check services, make) can tell it from a crash.
CONFIG_EXIT_CODE = 78


class ConfigError(ValueError):
    """Configuration is invalid; the message is one line naming the key and what it accepts."""


def check_config(
    service: str, parse: Callable[[Mapping[str, str]], object], environ: Mapping[str, str]
) -> int:
    """Parse the settings once: 0 and an "ok" line, or `CONFIG_EXIT_CODE` and the line naming the key."""
    try:
        parse(environ)
    except ConfigError as err:
        print(f"{service}: configuration error: {err}", file=sys.stderr)
        return CONFIG_EXIT_CODE
    print(f"{service}: configuration ok")
    return 0
