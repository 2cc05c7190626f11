"""Optional copy of the default zone's square image onto a mounted CIRCUITPY drive."""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import tempfile
from pathlib import Path

log = logging.getLogger(__name__)

QUALIA_FILENAME = "artwork.bmp"  # the name the original Qualia square client loads
_FREE_SPACE_MARGIN_BYTES = 64 * 1024  # CircuitPython needs room for its own files too


class QualiaMirror:
    """Keeps `QUALIA_MOUNT/artwork.bmp` equal to the default zone's `square720` rendition."""

    def __init__(self, mount: Path, artwork_dir: Path) -> None:
        self._mount = mount
        self._artwork_dir = artwork_dir
        self._copied = ""
        self._failing = False

    def update(self, relpath: str) -> None:
        """Copy the rendition at relpath unless it is already there; problems are logged, never raised."""
        if relpath == self._copied:
            return
        problem = self._copy(self._artwork_dir / relpath)
        if problem is None:
            self._copied = relpath
            if self._failing:
                log.info("QUALIA_MOUNT %s is written again", self._mount)
            self._failing = False
        elif not self._failing:
            self._failing = True
            log.warning("QUALIA_MOUNT %s not updated: %s", self._mount, problem)

    def _copy(self, source: Path) -> str | None:
        if not self._mount.is_dir():
            return "not a mounted directory"
        if not os.access(self._mount, os.W_OK):
            return "not writable by this user"
        try:
            size_bytes = source.stat().st_size
            free_bytes = shutil.disk_usage(self._mount).free
        except OSError as err:
            return str(err)
        existing = self._mount / QUALIA_FILENAME
        reclaimable = existing.stat().st_size if existing.is_file() else 0
        if free_bytes + reclaimable < size_bytes + _FREE_SPACE_MARGIN_BYTES:
            return f"{free_bytes} bytes free, {size_bytes} needed"
        tmp_path = ""
        try:
            fd, tmp_path = tempfile.mkstemp(dir=self._mount, prefix=".artwork-", suffix=".tmp")
            with os.fdopen(fd, "wb") as out, source.open("rb") as data:
                shutil.copyfileobj(data, out)
                out.flush()
                os.fsync(out.fileno())
            os.replace(tmp_path, existing)  # the display never reads half a file
        except OSError as err:
            if tmp_path:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(tmp_path)
            return str(err)
        return None
