"""Start-up checks of the gunicorn master: imports nothing heavy (no Flask, no prometheus_client)."""

from __future__ import annotations

import os
from pathlib import Path


def artwork_dir_problem(path: Path) -> str | None:
    """Why the service cannot read the artwork volume at `path`, or None when it can.

    The directory must exist and be listable; it may be empty (the poller fills it).
    """
    if not path.exists():
        return f"ARTWORK_DIR {path} does not exist: mount the artwork volume there"
    if not path.is_dir():
        return f"ARTWORK_DIR {path} is not a directory"
    if not os.access(path, os.R_OK | os.X_OK):
        return f"ARTWORK_DIR {path} is not readable by uid {os.getuid()}: fix the volume's permissions"
    try:
        with os.scandir(path) as entries:
            next(entries, None)
    except OSError as err:
        return f"ARTWORK_DIR {path} cannot be listed: {err.strerror or err}"
    return None
