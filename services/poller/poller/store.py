"""The artwork volume: content-addressed renditions written atomically."""

from __future__ import annotations

import contextlib
import logging
import os
import tempfile
import threading
from pathlib import Path

from contract.layout import ART_DIRNAME, TMP_DIRNAME, ArtName
from poller.errors import StorageError

log = logging.getLogger(__name__)


class ArtworkStore:
    """Writes renditions under `art/<h2>/` via `tmp/`, so readers never see a partial file."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.tmp_dir = root / TMP_DIRNAME
        self._written_bytes = 0
        self._written_lock = threading.Lock()

    @property
    def written_bytes(self) -> int:
        """Bytes of renditions written since start (the cache sweep runs when they add up)."""
        with self._written_lock:
            return self._written_bytes

    def prepare(self) -> None:
        """Create the layout; StorageError when the volume is not writable."""
        try:
            (self.root / ART_DIRNAME).mkdir(parents=True, exist_ok=True)
            self.tmp_dir.mkdir(parents=True, exist_ok=True)
            probe = tempfile.NamedTemporaryFile(dir=self.tmp_dir, prefix="probe-")  # noqa: SIM115
            probe.close()
        except OSError as err:
            raise StorageError(f"ARTWORK_DIR {self.root} is not writable: {err}") from err

    def path(self, name: ArtName) -> Path:
        """Where a rendition lives."""
        return self.root / name.relpath

    def contains(self, name: ArtName) -> bool:
        """Whether a rendition is already on disk."""
        return self.path(name).is_file()

    def touch(self, name: ArtName) -> None:
        """Mark a rendition as just used, for least-recently-used eviction."""
        with contextlib.suppress(FileNotFoundError):
            os.utime(self.path(name))

    def put(self, name: ArtName, data: bytes) -> None:
        """Write data under name: temp file, fsync, rename; no partial file is ever visible."""
        target = self.path(name)
        tmp_path = ""
        try:
            fd, tmp_path = tempfile.mkstemp(dir=self.tmp_dir, prefix=f"{name.filename}.", suffix=".tmp")
            with os.fdopen(fd, "wb") as tmp:
                tmp.write(data)
                tmp.flush()
                os.fsync(tmp.fileno())
            os.chmod(tmp_path, 0o644)  # mkstemp makes 0600; the artwork service runs as another user
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(tmp_path, target)
        except OSError as err:
            if tmp_path:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(tmp_path)
            raise StorageError(f"cannot write {name.relpath}: {err.strerror or err}") from err
        with self._written_lock:
            self._written_bytes += len(data)
