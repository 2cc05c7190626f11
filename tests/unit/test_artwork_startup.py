"""The artwork master refuses to start without a readable artwork volume."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

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


def problem_as_nobody(path: Path) -> str | None:
    """The check run by an unprivileged user (root reads every directory whatever its mode)."""
    if os.geteuid() != 0:
        return artwork_dir_problem(path)
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child drops to "nobody", checks, reports and leaves without cleanup
        os.close(read_end)
        os.setgid(65534)
        os.setuid(65534)
        os.write(write_end, str(artwork_dir_problem(path)).encode())
        os._exit(0)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as answer:
        problem = answer.read().decode()
    os.waitpid(pid, 0)
    return problem


def test_an_unreadable_directory_is_named():
    parent = Path(tempfile.mkdtemp())
    parent.chmod(0o755)  # reachable by anyone, so only the inner directory's mode matters
    locked = parent / "locked"
    locked.mkdir(mode=0)
    try:
        assert "not readable" in (problem_as_nobody(locked) or "")
    finally:
        locked.chmod(0o755)
        shutil.rmtree(parent)
