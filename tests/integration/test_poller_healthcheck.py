"""The healthcheck against a real poller process: fresh while it runs, and it kills one that is frozen."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable

import pytest
import redis

from fakesonos import Household
from harness.poller import PollerRunner, track, wait_for_title
from harness.processes import REPO_ROOT, service_env
from harness.waiting import wait_for
from poller.healthcheck import FROZEN_MARGIN_SECONDS

pytestmark = pytest.mark.timeout(60)

WATCHDOG_SECONDS = 2


def healthcheck(pollers: PollerRunner) -> subprocess.CompletedProcess[str]:
    """`python -m poller.healthcheck` with the poller's own settings, as Docker runs it in the container."""
    env = service_env(
        POLLER_HEARTBEAT_FILE=str(pollers.workdir / "heartbeat"),
        WATCHDOG_SECONDS=str(WATCHDOG_SECONDS),
        REDIS_URL=pollers.redis_url,
    )
    return subprocess.run(
        [sys.executable, "-m", "poller.healthcheck"], env=env, cwd=REPO_ROOT,
        capture_output=True, text=True, timeout=30, check=False,
    )  # fmt: skip


def test_a_frozen_poller_is_killed_by_the_healthcheck_so_that_docker_restarts_it(
    fake_household: Callable[..., Household], client: redis.Redis, pollers: PollerRunner
):
    household = fake_household("Den")
    household.speaker("den").set_track(track("Frozen Song"))
    poller = pollers.start(household, WATCHDOG_SECONDS=str(WATCHDOG_SECONDS))
    wait_for_title(client, "den", "Frozen Song", poller, timeout_seconds=15)
    assert healthcheck(pollers).returncode == 0

    # SIGSTOP freezes every thread, its own watchdog included: only something outside can help.
    os.kill(poller.process.pid, signal.SIGSTOP)
    frozen_at = time.monotonic()
    try:
        wait_for(
            lambda: healthcheck(pollers).returncode == 1, WATCHDOG_SECONDS + 5, what="an unhealthy verdict"
        )
        assert poller.process.poll() is None, (
            "stale is not yet frozen: the poller's own watchdog gets its turn"
        )

        time.sleep(max(0.0, WATCHDOG_SECONDS + FROZEN_MARGIN_SECONDS + 1 - (time.monotonic() - frozen_at)))
        result = healthcheck(pollers)
    finally:
        os.kill(poller.process.pid, signal.SIGCONT)  # harmless once it is dead; needed if the check failed

    assert result.returncode == 1
    assert f"killed the frozen poller (pid {poller.process.pid})" in result.stderr
    assert poller.process.wait(timeout=5) == -signal.SIGKILL
