"""Where gunicorn's workers keep prometheus-client's shared metric files.

Imports nothing heavy: gunicorn.conf.py runs this before anything imports prometheus_client,
which reads `PROMETHEUS_MULTIPROC_DIR` once, at its own import.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import MutableMapping
from pathlib import Path

from contract.errors import ConfigError

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
OWNED_PREFIX = "artwork-metrics-"
# tmpfs first: the files are rewritten on every request and must never reach an SD card.
_TMPFS_CANDIDATES = ("/dev/shm", "/tmp")  # noqa: S108 - a private mkdtemp below either


def ensure_metrics_dir(environ: MutableMapping[str, str]) -> Path:
    """The configured directory, or a new private one on tmpfs, exported in `environ`."""
    configured = environ.get(MULTIPROC_ENV, "").strip()
    if configured:
        path = Path(configured)
        if not path.is_dir() or not os.access(path, os.W_OK | os.X_OK):
            raise ConfigError(f"{MULTIPROC_ENV}: {configured!r} is not a writable directory")
        return path
    base = next((d for d in _TMPFS_CANDIDATES if os.access(d, os.W_OK | os.X_OK)), None)
    path = Path(tempfile.mkdtemp(prefix=OWNED_PREFIX, dir=base))
    environ[MULTIPROC_ENV] = str(path)
    return path


def clear_metrics_dir(path: Path) -> None:
    """Remove the metric files of an earlier run, so counters start at zero with the master."""
    for entry in path.glob("*.db"):
        entry.unlink(missing_ok=True)


def remove_if_owned(path: Path) -> None:
    """Delete the directory when `ensure_metrics_dir` created it."""
    if not path.name.startswith(OWNED_PREFIX):
        return
    clear_metrics_dir(path)
    with contextlib.suppress(OSError):  # something else was put there; leave it
        path.rmdir()
