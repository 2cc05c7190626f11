"""The load guard reads the container's own cgroup (v2, then v1) and never blocks."""

from __future__ import annotations

from pathlib import Path

import pytest

from poller.load import LoadMonitor, Usage, read_usage


def write(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    return root


def test_cgroup_v2_limit_usage_and_quota_are_read(tmp_path: Path):
    root = write(
        tmp_path,
        {
            "cgroup.controllers": "cpuset cpu io memory pids",
            "memory.current": "150000000",
            "memory.max": "200000000",
            "memory.stat": "anon 1\ninactive_file 50000000\n",
            "cpu.stat": "usage_usec 2500000\nuser_usec 1\n",
            "cpu.max": "150000 100000",
        },
    )
    assert read_usage(root) == Usage(100_000_000, 200_000_000, 2.5, 1.5)


def test_cgroup_v2_without_limits_reports_none(tmp_path: Path):
    root = write(tmp_path, {"cgroup.controllers": "cpu", "memory.max": "max", "cpu.max": "max 100000"})
    usage = read_usage(root)
    assert (usage.memory_limit_bytes, usage.cpu_quota_cores) == (None, None)


def test_cgroup_v1_is_the_fallback(tmp_path: Path):
    root = write(
        tmp_path,
        {
            "memory/memory.usage_in_bytes": "1000",
            "memory/memory.limit_in_bytes": "9223372036854771712",  # v1's "no limit"
            "cpuacct/cpuacct.usage": "3000000000",
            "cpu/cpu.cfs_quota_us": "-1",
            "cpu/cpu.cfs_period_us": "100000",
        },
    )
    assert read_usage(root) == Usage(1000, None, 3.0, None)


def test_memory_over_the_threshold_is_overload():
    usage = Usage(memory_bytes=90, memory_limit_bytes=100, cpu_usage_seconds=0.0, cpu_quota_cores=1.0)
    monitor = LoadMonitor(70, 80, read=lambda: usage)
    assert monitor.sample().overloaded
    assert monitor.samples == 1


def test_cpu_percent_is_the_cgroup_usage_over_wall_time_and_quota():
    readings = iter([Usage(10, 100, 1.0, 2.0), Usage(10, 100, 2.5, 2.0)])
    clock = iter([100.0, 101.0])
    monitor = LoadMonitor(70, 80, read=lambda: next(readings), clock=lambda: next(clock))
    assert monitor.sample().cpu_percent == 0.0  # no previous reading yet
    second = monitor.sample()
    assert second.cpu_percent == pytest.approx(75.0)  # 1.5 CPU-seconds in 1 s on a 2-core quota
    assert second.overloaded


def test_a_saturated_container_reads_at_most_100_percent_so_a_100_threshold_never_trips():
    # The counter is read a moment after the clock, so a busy container can read a hair over 100 %.
    readings = iter([Usage(10, 100, 1.0, 1.0), Usage(10, 100, 2.003, 1.0)])
    clock = iter([100.0, 101.0])
    monitor = LoadMonitor(100, 100, read=lambda: next(readings), clock=lambda: next(clock))
    monitor.sample()
    second = monitor.sample()
    assert second.cpu_percent == 100.0
    assert not second.overloaded
