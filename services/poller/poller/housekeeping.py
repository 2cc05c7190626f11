"""Bounds on the artwork volume: stale temp files and a least-recently-used cache size."""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from contract.layout import ART_DIRNAME, TMP_DIRNAME, parse_art_relpath

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class StoredFile:
    """One rendition on disk; `used_at` is its mtime, refreshed whenever the poller reuses it."""

    relpath: str
    size_bytes: int
    used_at: float


@dataclass(frozen=True)
class SweepResult:
    """What one housekeeping pass removed."""

    temp_files_removed: int = 0
    renditions_evicted: int = 0
    bytes_freed: int = 0


# The sweep also runs once renditions worth this share of CACHE_MAX_MB were written since the last
# one: a busy household (or a burst) would otherwise overrun the bound for a whole interval.
SWEEP_AFTER_SHARE = 0.1


def sweep_due(now: float, next_sweep_at: float, written_since_bytes: int, max_bytes: int) -> bool:
    """Whether to sweep now: its interval passed, or the cache grew by a tenth of its bound (0: none)."""
    grown = max_bytes > 0 and written_since_bytes >= max_bytes * SWEEP_AFTER_SHARE
    return now >= next_sweep_at or grown


def choose_evictions(files: Iterable[StoredFile], max_bytes: int, keep: set[str]) -> list[StoredFile]:
    """Least recently used files to delete to get under max_bytes, never one in keep."""
    ordered = sorted(files, key=lambda f: f.used_at)
    total = sum(f.size_bytes for f in ordered)
    chosen: list[StoredFile] = []
    for candidate in ordered:
        if total <= max_bytes:
            break
        if candidate.relpath in keep:
            continue
        chosen.append(candidate)
        total -= candidate.size_bytes
    return chosen


def stale_temp_files(tmp_dir: Path, max_age_seconds: float, now: float) -> list[Path]:
    """Temp files older than max_age_seconds (left behind by a crash mid-write)."""
    stale = []
    with contextlib.suppress(FileNotFoundError), os.scandir(tmp_dir) as entries:
        for entry in entries:
            with contextlib.suppress(FileNotFoundError):
                if entry.is_file(follow_symlinks=False) and now - entry.stat().st_mtime > max_age_seconds:
                    stale.append(Path(entry.path))
    return stale


def stored_renditions(root: Path) -> Iterator[StoredFile]:
    """Every well-formed rendition under `art/`."""
    art = root / ART_DIRNAME
    with contextlib.suppress(FileNotFoundError), os.scandir(art) as fanout:
        for bucket in fanout:
            if not bucket.is_dir(follow_symlinks=False):
                continue
            with contextlib.suppress(FileNotFoundError), os.scandir(bucket.path) as entries:
                for entry in entries:
                    relpath = f"{ART_DIRNAME}/{bucket.name}/{entry.name}"
                    if parse_art_relpath(relpath) is None:
                        continue
                    with contextlib.suppress(FileNotFoundError):
                        stat = entry.stat(follow_symlinks=False)
                        yield StoredFile(relpath, stat.st_size, stat.st_mtime)


def sweep(
    root: Path, *, max_bytes: int, max_temp_age_seconds: float, keep: set[str], now: float
) -> SweepResult:
    """Remove stale temp files, then evict least-recently-used renditions beyond max_bytes."""
    temp_removed = 0
    for path in stale_temp_files(root / TMP_DIRNAME, max_temp_age_seconds, now):
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
            temp_removed += 1
    evicted = choose_evictions(stored_renditions(root), max_bytes, keep)
    freed = 0
    for stored in evicted:
        with contextlib.suppress(FileNotFoundError):
            (root / stored.relpath).unlink()
            freed += stored.size_bytes
    result = SweepResult(temp_removed, len(evicted), freed)
    if temp_removed or evicted:
        log.warning(
            "cleanup: removed %d stale temp file(s), evicted %d rendition(s) (%.1f MiB) over CACHE_MAX_MB",
            temp_removed, len(evicted), freed / 1048576,
        )  # fmt: skip
    return result
