"""Keys set in the environment reach what they govern: the poller built from them behaves accordingly."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from contract.layout import rendition_name
from contract.profiles import BUILTIN_PROFILES
from poller.app import build_poller
from poller.config import Settings
from poller.service import Poller

pytestmark = pytest.mark.timeout(60)


@contextmanager
def poller_from_env(redis_url: str, artwork_dir: Path, tmp_path: Path, **keys: str) -> Iterator[Poller]:
    environ = {
        "REDIS_URL": redis_url,
        "ARTWORK_DIR": str(artwork_dir),
        "POLLER_HEARTBEAT_FILE": str(tmp_path / "heartbeat"),
        "SONOS_EVENTS": "off",
        "SONOS_SPEAKERS": "192.0.2.1",  # never asked: these tests run no pass of the loop
        **keys,
    }
    poller, client = build_poller(Settings.from_env(environ), threading.Event())
    try:
        yield poller
    finally:
        poller.close()
        client.close()


def _temp_file(artwork_dir: Path, name: str, age_seconds: float) -> Path:
    path = artwork_dir / "tmp" / name
    path.write_bytes(b"half-written")
    then = time.time() - age_seconds
    os.utime(path, (then, then))
    return path


def test_temp_max_age_seconds_decides_which_temp_files_the_sweep_removes_and_how_often_it_runs(
    redis_url: str, artwork_dir: Path, tmp_path: Path
):
    with poller_from_env(redis_url, artwork_dir, tmp_path, TEMP_MAX_AGE_SECONDS="30") as poller:
        stale = _temp_file(artwork_dir, "stale.tmp", age_seconds=60)
        fresh = _temp_file(artwork_dir, "fresh.tmp", age_seconds=10)

        result = poller.housekeeping(set())

        assert (stale.exists(), fresh.exists()) == (False, True)
        assert result.temp_files_removed == 1
        assert poller.housekeeping_interval_seconds == 15  # half the age, so no temp file lives much longer


def test_cache_max_mb_bounds_what_the_sweep_keeps(redis_url: str, artwork_dir: Path, tmp_path: Path):
    with poller_from_env(redis_url, artwork_dir, tmp_path, CACHE_MAX_MB="1") as poller:
        for n in range(4):
            name = rendition_name(f"cover {n}", BUILTIN_PROFILES["jpeg720"])
            path = artwork_dir / name.relpath
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(b"\xff" * 400_000)
            then = time.time() - 100 + n  # the first written is the least recently used
            os.utime(path, (then, then))

        poller.housekeeping(set())

        kept = sorted(p.name for p in (artwork_dir / "art").rglob("*.jpg"))
        assert len(kept) == 2  # 1.6 MB down to 800 KB, under 1 MiB
        assert poller.cache_max_bytes == 1024 * 1024  # an early sweep after a tenth of it is written


def _burn_cpu(seconds: float) -> None:
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        pass


@pytest.mark.parametrize(("threshold", "overloaded"), [("1", True), ("100", False)])
def test_cpu_threshold_percent_decides_when_the_poller_counts_itself_overloaded(
    redis_url: str, artwork_dir: Path, tmp_path: Path, threshold: str, overloaded: bool
):
    keys = {"CPU_THRESHOLD_PERCENT": threshold, "MEMORY_THRESHOLD_PERCENT": "100"}
    with poller_from_env(redis_url, artwork_dir, tmp_path, **keys) as poller:
        assert poller.load is not None
        poller.load.sample()
        _burn_cpu(0.5)  # at least a whole core's worth of busy against the threshold

        assert poller.load.sample().overloaded is overloaded
