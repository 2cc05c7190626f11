"""The small common runner: result records, medians, process CPU and RSS, and cleanup of what we start."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import psutil

from harness.processes import REPO_ROOT, SERVICE_PATHS

RESULTS_DIR = Path(__file__).resolve().parent / "results"
MIB = 1024 * 1024


def add_service_paths() -> None:
    """Make the services' packages (and the display client's) importable, as the test configuration does."""
    display = [REPO_ROOT / "display" / "lib", REPO_ROOT / "display" / "sim"]
    for path in reversed([REPO_ROOT, *SERVICE_PATHS, *display]):
        if str(path) not in sys.path:
            sys.path.insert(0, str(path))


add_service_paths()


@dataclass
class Result:
    """One measured figure against its target and baseline; `passed` is None where no target applies."""

    bench: str
    name: str
    figure: float
    unit: str
    target: str = ""
    passed: bool | None = None
    baseline: str = ""
    detail: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return asdict(self)


def check(value: float, op: str, limit: float) -> bool:
    """`value op limit` for the few comparisons targets use."""
    return {"<": value < limit, "<=": value <= limit, ">": value > limit, ">=": value >= limit}[op]


def median(values: Iterable[float]) -> float:
    """Median of a non-empty sample."""
    return float(statistics.median(list(values)))


def percentile(values: Sequence[float], pct: float) -> float:
    """Nearest-rank percentile (pct in 0..100) of a non-empty sample."""
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(pct / 100 * len(ordered) + 0.5)))
    return float(ordered[rank - 1])


def timed(fn: Callable[[], Any], repeat: int) -> list[float]:
    """Seconds of each of `repeat` calls."""
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return times


def cpu_seconds(pids: Iterable[int]) -> float:
    """User + system CPU of these processes so far (gone ones count 0)."""
    total = 0.0
    for pid in pids:
        with contextlib.suppress(psutil.Error):
            times = psutil.Process(pid).cpu_times()
            total += times.user + times.system
    return total


def rss_bytes(pids: Iterable[int]) -> int:
    """Resident set size summed over these processes (gone ones count 0)."""
    total = 0
    for pid in pids:
        with contextlib.suppress(psutil.Error):
            total += psutil.Process(pid).memory_info().rss
    return total


def tree_pids(pid: int) -> list[int]:
    """A process and all its descendants."""
    try:
        process = psutil.Process(pid)
        return [pid, *(child.pid for child in process.children(recursive=True))]
    except psutil.Error:
        return []


def stop_process(process: subprocess.Popen[Any], timeout_seconds: float = 10.0) -> None:
    """SIGTERM, then SIGKILL if it lingers; always reaped."""
    if process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=timeout_seconds)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=timeout_seconds)


class Stack(contextlib.ExitStack):
    """An ExitStack that also owns a temp dir and stops processes it started, even on Ctrl-C."""

    def __init__(self, name: str) -> None:
        super().__init__()
        self.tmp = Path(tempfile.mkdtemp(prefix=f"bench-{name}-"))
        self.callback(shutil.rmtree, self.tmp, True)

    def popen(
        self, args: Sequence[str], *, log_name: str, env: dict[str, str] | None = None, **kwargs: Any
    ) -> subprocess.Popen[bytes]:
        """Start a process logging into the temp dir; stopped when the stack closes."""
        log = (self.tmp / log_name).open("wb")
        self.callback(log.close)
        process = subprocess.Popen(
            list(args), stdout=log, stderr=subprocess.STDOUT, env=env, cwd=REPO_ROOT, **kwargs
        )
        self.callback(stop_process, process)
        return process

    def log_tail(self, log_name: str, max_chars: int = 3000) -> str:
        """The end of a started process's output, for error messages."""
        path = self.tmp / log_name
        return path.read_text(errors="replace")[-max_chars:] if path.exists() else ""


def service_env(**overrides: str) -> dict[str, str]:
    """This environment with the services importable, nothing of ours inherited, and the given keys set."""
    own = ("ARTWORK_", "REDIS_", "SONOS_", "POLL", "LOG_", "GUNICORN_CMD_ARGS", "SENDFILE", "PROMETHEUS_")
    env = {k: v for k, v in os.environ.items() if not k.startswith(own)}
    env["PYTHONPATH"] = os.pathsep.join(str(p) for p in [*SERVICE_PATHS, REPO_ROOT])
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    env.update(overrides)
    return env


def fmt(value: float, unit: str) -> str:
    """A figure for the table."""
    if unit in ("x", "ratio"):
        return f"{value:.2f}×"
    if unit == "%":
        return f"{value:.2f} %"
    if abs(value) >= 100:
        return f"{value:,.0f} {unit}"
    return f"{value:.3g} {unit}" if value else f"0 {unit}"
