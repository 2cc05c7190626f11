"""The start-up check both services run: is the kernel's memory cgroup on (v2, then v1)?"""

from __future__ import annotations

from pathlib import Path

import pytest

from contract.cgroup import MEMORY_CGROUP_WARNING, memory_cgroup_enabled


def write(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    return root


@pytest.mark.parametrize(
    ("files", "enabled"),
    [
        ({"cgroup.controllers": "cpuset cpu io memory pids"}, True),
        ({"cgroup.controllers": "cpuset cpu pids"}, False),  # a Raspberry Pi without cgroup_enable=memory
        ({"cgroup.controllers": ""}, False),
    ],
)
def test_cgroup_v2_is_judged_by_its_controllers(tmp_path: Path, files, enabled):
    assert memory_cgroup_enabled(write(tmp_path, files), tmp_path / "none") is enabled


def test_v2_wins_over_proc_cgroups(tmp_path: Path):
    root = write(tmp_path / "cg", {"cgroup.controllers": "cpu io"})
    proc = write(tmp_path, {"cgroups": "#subsys_name\thierarchy\tnum_cgroups\tenabled\nmemory\t0\t90\t1\n"})
    assert memory_cgroup_enabled(root, proc / "cgroups") is False


@pytest.mark.parametrize(("column", "enabled"), [("1", True), ("0", False)])
def test_v1_hosts_are_judged_by_proc_cgroups(tmp_path: Path, column, enabled):
    proc = tmp_path / "cgroups"
    proc.write_text(
        "#subsys_name\thierarchy\tnum_cgroups\tenabled\n"
        "cpuset\t3\t1\t1\n"
        f"memory\t5\t90\t{column}\n"
        "pids\t7\t94\t1\n"
    )
    assert memory_cgroup_enabled(tmp_path / "nothing", proc) is enabled


def test_nothing_readable_counts_as_disabled(tmp_path: Path):
    assert memory_cgroup_enabled(tmp_path / "nothing", tmp_path / "none") is False


def test_the_warning_names_the_fix():
    assert "cgroup_enable=memory" in MEMORY_CGROUP_WARNING
    assert "cmdline.txt" in MEMORY_CGROUP_WARNING


def test_this_machine_answers_without_error():
    assert memory_cgroup_enabled() in (True, False)
