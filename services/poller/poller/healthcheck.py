"""Container healthcheck: the poll loop touched its heartbeat file recently (no curl needed).

It is also the watchdog's watchdog. The poller exits by itself when its loop stalls, but a process
that is frozen as a whole (SIGSTOP, a debugger, a stuck page-in) cannot run that check. Docker
never restarts a container that is merely unhealthy, so once the heartbeat is older than the
watchdog's limit plus a margin, this kills the poller (its pid is in the heartbeat file) and the
restart policy brings it back.
"""

from __future__ import annotations

import enum
import os
import signal
import sys
import time
from pathlib import Path

from contract.errors import ConfigError
from poller.app import watchdog_limit_seconds
from poller.config import Settings

# Past the watchdog's own limit: a live process has exited by then, so this one cannot act.
FROZEN_MARGIN_SECONDS = 10.0


class Verdict(enum.Enum):
    """What the heartbeat's age says about the poller."""

    FRESH = "fresh"
    STALE = "stale"  # unhealthy; the poller's own watchdog is about to exit it
    FROZEN = "frozen"  # its own watchdog should have acted and did not: kill it


def verdict(age_seconds: float, limit_seconds: float) -> Verdict:
    """Judge a heartbeat by its age against the watchdog's limit."""
    if age_seconds > limit_seconds + FROZEN_MARGIN_SECONDS:
        return Verdict.FROZEN
    if age_seconds > limit_seconds:
        return Verdict.STALE
    return Verdict.FRESH


def heartbeat_pid(path: Path) -> int | None:
    """The poller's pid as written in its heartbeat file, or None."""
    try:
        text = path.read_text().strip()
    except OSError:
        return None
    return int(text) if text.isdigit() else None


def main() -> int:
    """0 when the heartbeat file is fresh, 1 otherwise (and a frozen poller is killed)."""
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
    judged = verdict(age_seconds, watchdog_limit_seconds(settings))
    if judged is Verdict.FRESH:
        return 0
    print(f"heartbeat is {age_seconds:.0f} s old", file=sys.stderr)
    pid = heartbeat_pid(settings.heartbeat_file) if judged is Verdict.FROZEN else None
    if pid is not None:
        try:
            os.kill(pid, signal.SIGKILL)  # SIGKILL works on a stopped process too
        except OSError as err:
            print(f"cannot kill the frozen poller (pid {pid}): {err}", file=sys.stderr)
        else:
            print(f"killed the frozen poller (pid {pid}) so that it is restarted", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
