"""The chaos campaign, short: two minutes of the real stack under Pi-class limits and a handful of faults.

`make chaos` runs the half hour (bench/results/chaos.md). This runs the same program for two minutes
with a fixed seed, so every CI run shows the campaign itself still works and still finds nothing.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bench.chaos.schedule import SHORT_KINDS
from harness.processes import REPO_ROOT
from tests.e2e.conftest import require_engine

pytestmark = [pytest.mark.compose, pytest.mark.chaos, pytest.mark.timeout(900)]

SEED = 2026


def test_two_minutes_of_faults_lose_no_change_and_break_no_invariant(tmp_path: Path):
    require_engine()
    env = {
        **os.environ,
        "CHAOS_MINUTES": "2",
        "CHAOS_SEED": str(SEED),
        "CHAOS_KINDS": ",".join(SHORT_KINDS),
        "CHAOS_RESULTS": str(tmp_path),
    }
    run = subprocess.run(
        [sys.executable, "-m", "bench.chaos"], cwd=REPO_ROOT, env=env,
        capture_output=True, text=True, timeout=840, check=False,
    )  # fmt: skip
    assert run.returncode == 0, f"{run.stdout[-6000:]}\n{run.stderr[-3000:]}"

    result = json.loads((tmp_path / "chaos.json").read_text())
    assert (result["seed"], result["changes_lost"], result["violations"]) == (SEED, 0, [])
    assert result["changes_made"] > 80  # about one change per zone every 5 s, four zones
    assert {fault["kind"] for fault in result["faults"]} == set(SHORT_KINDS)
    assert all(fault["recovered"] == fault["injected"] for fault in result["faults"])
    assert result["images_decoded"] > 0
    assert (tmp_path / "chaos.png").stat().st_size > 0
