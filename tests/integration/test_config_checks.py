"""The configuration checks compose runs before each service: one line, and exit 78 on a bad value."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from contract.errors import CONFIG_EXIT_CODE
from harness.compose import REPO_ROOT

pytestmark = pytest.mark.timeout(60)

SERVICE_PATHS = os.pathsep.join(
    str(REPO_ROOT / "services" / name) for name in ("contract", "poller", "artwork")
)


def check(module: str, **settings: str) -> subprocess.CompletedProcess[str]:
    env = {"PATH": os.environ["PATH"], "PYTHONPATH": SERVICE_PATHS, **settings}
    return subprocess.run(
        [sys.executable, "-m", module], env=env, capture_output=True, text=True, timeout=30, check=False
    )


@pytest.mark.parametrize(
    ("module", "service"), [("poller.config_check", "poller"), ("artwork.config_check", "artwork")]
)
def test_a_bad_setting_exits_78_with_one_line_naming_the_key(module: str, service: str):
    result = check(module, ARTWORK_PROFILES="square720,nonsense")

    assert result.returncode == CONFIG_EXIT_CODE
    assert result.stdout == ""
    (line,) = result.stderr.splitlines()
    assert line.startswith(f"{service}: configuration error: ARTWORK_PROFILES: 'nonsense' is neither")


@pytest.mark.parametrize(
    ("module", "service"), [("poller.config_check", "poller"), ("artwork.config_check", "artwork")]
)
def test_valid_settings_exit_0_saying_so(module: str, service: str):
    result = check(module, ARTWORK_PROFILES="jpeg720,kitchen=800x480.jpg:crop")

    assert (result.returncode, result.stdout, result.stderr) == (0, f"{service}: configuration ok\n", "")


def test_the_artwork_check_knows_the_server_keys_too():
    result = check("artwork.config_check", ARTWORK_THREADS="8", ARTWORK_MAX_CONNECTIONS="8")

    assert result.returncode == CONFIG_EXIT_CODE
    assert "ARTWORK_MAX_CONNECTIONS" in result.stderr


def test_the_poller_itself_stops_on_a_bad_setting_with_the_same_code():
    result = check("poller", POLL_INTERVAL_SECONDS="often")

    assert result.returncode == CONFIG_EXIT_CODE
    (line,) = result.stderr.splitlines()
    assert line.startswith("poller: configuration error: POLL_INTERVAL_SECONDS")
