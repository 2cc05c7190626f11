"""Container healthcheck: the poll loop touched its heartbeat file recently (no curl needed)."""

from __future__ import annotations

import os
import sys
import time

from contract.errors import ConfigError
from poller.app import watchdog_limit_seconds
from poller.config import Settings


def main() -> int:
    """0 when the heartbeat file is fresh, 1 otherwise."""
    try:
        settings = Settings.from_env(os.environ)
    except ConfigError as err:
        print(err, file=sys.stderr)
        return 1
    try:
        age_seconds = time.time() - settings.heartbeat_file.stat().st_mtime
    except OSError as err:
        print(f"no heartbeat: {err}", file=sys.stderr)
        return 1
    if age_seconds > watchdog_limit_seconds(settings):
        print(f"heartbeat is {age_seconds:.0f} s old", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
