"""The load guard: CPU and memory of this container, sampled rarely and never blocking."""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import psutil

log = logging.getLogger(__name__)

CGROUP_ROOT = Path("/sys/fs/cgroup")
_V1_NO_LIMIT_BYTES = 1 << 60  # cgroup v1 reports "no limit" as a huge number


@dataclass(frozen=True)
class Usage:
    """Raw counters read from the cgroup (None where the kernel does not say)."""

    memory_bytes: int | None
    memory_limit_bytes: int | None
    cpu_usage_seconds: float | None
    cpu_quota_cores: float | None


@dataclass(frozen=True)
class LoadSample:
    """One sample, in percent of what this container may use."""

    cpu_percent: float
    memory_percent: float
    overloaded: bool


def _read(path: Path) -> str | None:
    try:
        return path.read_text().strip()
    except OSError:
        return None


def _stat_field(text: str | None, name: str) -> int | None:
    for line in (text or "").splitlines():
        key, _, value = line.partition(" ")
        if key == name and value.strip().isdigit():
            return int(value)
    return None


def read_usage(root: Path = CGROUP_ROOT) -> Usage:
    """The container's own memory and CPU counters: cgroup v2, falling back to v1."""
    if (root / "cgroup.controllers").exists():
        current = _read(root / "memory.current")
        limit = _read(root / "memory.max")
        # Page cache is reclaimable; counting it would make every busy disk look like overload.
        inactive = _stat_field(_read(root / "memory.stat"), "inactive_file") or 0
        usage_usec = _stat_field(_read(root / "cpu.stat"), "usage_usec")
        quota, _, period = (_read(root / "cpu.max") or "max").partition(" ")
        return Usage(
            memory_bytes=max(0, int(current) - inactive) if current and current.isdigit() else None,
            memory_limit_bytes=int(limit) if limit and limit.isdigit() else None,
            cpu_usage_seconds=usage_usec / 1e6 if usage_usec is not None else None,
            cpu_quota_cores=int(quota) / int(period) if quota.isdigit() and period.isdigit() else None,
        )
    usage = _read(root / "memory" / "memory.usage_in_bytes")
    limit = _read(root / "memory" / "memory.limit_in_bytes")
    cpu_ns = _read(root / "cpuacct" / "cpuacct.usage")
    quota_us = _read(root / "cpu" / "cpu.cfs_quota_us")
    period_us = _read(root / "cpu" / "cpu.cfs_period_us")
    return Usage(
        memory_bytes=int(usage) if usage and usage.isdigit() else None,
        memory_limit_bytes=int(limit)
        if limit and limit.isdigit() and int(limit) < _V1_NO_LIMIT_BYTES
        else None,
        cpu_usage_seconds=int(cpu_ns) / 1e9 if cpu_ns and cpu_ns.isdigit() else None,
        cpu_quota_cores=(
            int(quota_us) / int(period_us)
            if quota_us and quota_us.isdigit() and period_us and period_us.isdigit()
            else None
        ),
    )


class LoadMonitor:
    """Samples load when asked (the loop asks every RESOURCE_CHECK_INTERVAL_SECONDS), never blocking."""

    def __init__(
        self,
        cpu_threshold_percent: float,
        memory_threshold_percent: float,
        read: Callable[[], Usage] = read_usage,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._cpu_threshold = cpu_threshold_percent
        self._memory_threshold = memory_threshold_percent
        self._read = read
        self._clock = clock
        self._last_cpu: tuple[float, float] | None = None  # (wall seconds, cpu seconds)
        self.samples = 0
        self.latest = LoadSample(0.0, 0.0, overloaded=False)
        psutil.cpu_percent(interval=None)  # primes the host counter; later calls measure since the last

    def sample(self) -> LoadSample:
        """Take one sample, log transitions in and out of overload, and remember it."""
        usage = self._read()
        sample = LoadSample(self._cpu_percent(usage), self._memory_percent(usage), overloaded=False)
        overloaded = (
            sample.cpu_percent > self._cpu_threshold or sample.memory_percent > self._memory_threshold
        )
        sample = LoadSample(sample.cpu_percent, sample.memory_percent, overloaded)
        if overloaded and not self.latest.overloaded:
            log.warning(
                "overloaded (CPU %.0f%%, memory %.0f%%): polling slows and rendering is deferred",
                sample.cpu_percent, sample.memory_percent,
            )  # fmt: skip
        elif self.latest.overloaded and not overloaded:
            log.info(
                "load is back to normal (CPU %.0f%%, memory %.0f%%)",
                sample.cpu_percent,
                sample.memory_percent,
            )
        self.latest = sample
        self.samples += 1
        return sample

    def _cpu_percent(self, usage: Usage) -> float:
        if usage.cpu_usage_seconds is None:
            return float(psutil.cpu_percent(interval=None))  # host-wide, since the previous call
        now = self._clock()
        previous, self._last_cpu = self._last_cpu, (now, usage.cpu_usage_seconds)
        if previous is None or now <= previous[0]:
            return 0.0
        cores = usage.cpu_quota_cores or float(len(os.sched_getaffinity(0)))
        busy = 100.0 * (usage.cpu_usage_seconds - previous[1]) / (now - previous[0]) / cores
        # The clock and the counter are read apart, so a saturated container can read 100.3 %;
        # a share of the allowance is at most all of it, and a 100 % threshold means "never".
        return min(100.0, busy)

    @staticmethod
    def _memory_percent(usage: Usage) -> float:
        if usage.memory_bytes is not None and usage.memory_limit_bytes:
            return 100.0 * usage.memory_bytes / usage.memory_limit_bytes
        return float(psutil.virtual_memory().percent)  # no limit: the host's memory is the limit
