"""The artwork master refuses to start without a readable artwork volume."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from artwork.startup import artwork_dir_problem


def test_an_empty_directory_is_fine(tmp_path: Path):
    assert artwork_dir_problem(tmp_path) is None


def test_a_missing_directory_is_named(tmp_path: Path):
    problem = artwork_dir_problem(tmp_path / "missing")
    assert problem is not None
    assert problem.startswith("ARTWORK_DIR ")
    assert "does not exist" in problem


def test_a_file_is_not_a_directory(tmp_path: Path):
    (tmp_path / "file").write_text("x")
    assert "not a directory" in (artwork_dir_problem(tmp_path / "file") or "")


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads every directory regardless of its mode")
def test_an_unreadable_directory_is_named(tmp_path: Path):
    locked = tmp_path / "locked"
    locked.mkdir(mode=0)
    try:
        assert "not readable" in (artwork_dir_problem(locked) or "")
    finally:
        locked.chmod(0o755)
