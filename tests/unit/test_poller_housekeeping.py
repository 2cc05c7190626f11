"""Temp files and the rendition cache stay bounded; nothing a zone shows is ever evicted."""

from __future__ import annotations

import os
from pathlib import Path

from contract.layout import rendition_name
from contract.profiles import BUILTIN_PROFILES
from poller.housekeeping import StoredFile, choose_evictions, sweep, sweep_due


def test_least_recently_used_go_first_until_under_the_bound():
    files = [StoredFile("c", 10, 3.0), StoredFile("a", 10, 1.0), StoredFile("b", 10, 2.0)]
    assert [f.relpath for f in choose_evictions(files, 15, keep=set())] == ["a", "b"]


def test_files_a_zone_references_are_never_evicted_even_over_the_bound():
    files = [StoredFile("old-but-shown", 10, 1.0), StoredFile("newer", 10, 2.0)]
    assert [f.relpath for f in choose_evictions(files, 0, keep={"old-but-shown"})] == ["newer"]


def make_rendition(root: Path, source: str, size_bytes: int, used_at: float) -> str:
    name = rendition_name(source, BUILTIN_PROFILES["jpeg720"])
    path = root / name.relpath
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"x" * size_bytes)
    os.utime(path, (used_at, used_at))
    return name.relpath


def test_sweep_removes_stale_temp_files_and_evicts_beyond_the_bound(tmp_path: Path):
    (tmp_path / "tmp").mkdir()
    stale, fresh = tmp_path / "tmp" / "stale.tmp", tmp_path / "tmp" / "fresh.tmp"
    stale.write_bytes(b"x")
    fresh.write_bytes(b"x")
    os.utime(stale, (1000.0, 1000.0))
    os.utime(fresh, (1990.0, 1990.0))
    oldest = make_rendition(tmp_path, "a", 600, 1.0)
    shown = make_rendition(tmp_path, "b", 600, 2.0)
    newest = make_rendition(tmp_path, "c", 600, 3.0)

    result = sweep(tmp_path, max_bytes=1000, max_temp_age_seconds=300, keep={shown}, now=2000.0)

    assert (result.temp_files_removed, result.renditions_evicted, result.bytes_freed) == (1, 2, 1200)
    assert not stale.exists()
    assert fresh.exists()
    assert (tmp_path / shown).exists()
    assert not (tmp_path / oldest).exists()
    assert not (tmp_path / newest).exists()


def test_sweep_leaves_files_it_does_not_recognise(tmp_path: Path):
    stray = tmp_path / "art" / "ab" / "notes.txt"
    stray.parent.mkdir(parents=True)
    stray.write_text("mine")
    sweep(tmp_path, max_bytes=0, max_temp_age_seconds=300, keep=set(), now=0.0)
    assert stray.exists()


def test_a_sweep_is_due_when_its_interval_has_passed():
    assert sweep_due(now=100, next_sweep_at=100, written_since_bytes=0, max_bytes=1000)
    assert not sweep_due(now=99, next_sweep_at=100, written_since_bytes=0, max_bytes=1000)


def test_a_sweep_is_due_early_once_a_tenth_of_the_bound_was_written_since_the_last():
    assert sweep_due(now=0, next_sweep_at=60, written_since_bytes=100, max_bytes=1000)
    assert not sweep_due(now=0, next_sweep_at=60, written_since_bytes=99, max_bytes=1000)


def test_without_a_bound_only_the_interval_decides():
    assert not sweep_due(now=0, next_sweep_at=60, written_since_bytes=10**9, max_bytes=0)
