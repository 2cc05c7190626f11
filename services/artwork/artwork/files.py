"""Opening renditions on the artwork volume without following links or racing the writer."""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import stat
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from contract.layout import ART_DIRNAME, ArtName

log = logging.getLogger(__name__)

# O_NOFOLLOW: a symlink anywhere below ARTWORK_DIR is refused, so nothing outside
# ARTWORK_DIR/art is ever opened. O_NONBLOCK: a FIFO planted under a valid name cannot
# block a thread in open(); it is then refused as not a regular file.
_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
_FILE_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC

# Errors that mean "no such servable file" rather than a broken volume.
_MISSING = {errno.ENOENT, errno.ENOTDIR, errno.ELOOP, errno.EISDIR, errno.ENXIO}


class ArtNotFound(Exception):
    """The rendition is not a servable file under `ARTWORK_DIR/art`."""


@dataclass
class OpenRendition:
    """An open rendition and what `fstat` said about that very file."""

    file: BinaryIO
    size_bytes: int
    mtime_seconds: float


class ArtFiles:
    """Opens renditions under `ARTWORK_DIR/art`, keeping its directories open between requests.

    Walking art/<h2>/<file> one component at a time (each refused if it is a link) costs three
    opens per image; the two directories are the same for every request, so their descriptors are
    kept. When a file is not found, they are checked against the paths first: a directory that was
    removed, renamed or replaced (say, the volume emptied by hand) is opened afresh, and the file
    looked up again.
    """

    def __init__(self, artwork_dir: Path) -> None:
        self._root_path = f"{artwork_dir}/{ART_DIRNAME}"
        self._lock = threading.Lock()
        self._dirs: _Directories | None = None

    def open(self, name: ArtName) -> OpenRendition:
        """Open `ARTWORK_DIR/<name.relpath>`, built only from validated parts; the caller closes it."""
        # Confinement that does not rest on the name pattern alone: every part is opened relative
        # to the directory above it, so each must be one plain path component.
        filename = name.filename
        if not (_plain_component(name.hash[:2]) and _plain_component(filename)):
            raise ArtNotFound(filename)
        try:
            fd = self._open_file(name)
        except OSError as exc:
            if exc.errno not in _MISSING:
                log.warning("cannot open %s: %s", name.relpath, exc.strerror)
            raise ArtNotFound(filename) from exc
        try:
            info = os.fstat(fd)
            if not stat.S_ISREG(info.st_mode):
                raise ArtNotFound(filename)
            # Unbuffered: the body goes out with sendfile(2), so a read buffer would only cost time.
            file = open(fd, "rb", buffering=0)  # noqa: SIM115 - the caller closes it
        except BaseException:
            os.close(fd)
            raise
        return OpenRendition(file=file, size_bytes=info.st_size, mtime_seconds=info.st_mtime)

    def size_bytes(self, name: ArtName) -> int | None:
        """The rendition's size, or None when it is not there."""
        try:
            opened = self.open(name)
        except ArtNotFound:
            return None
        opened.file.close()
        return opened.size_bytes

    def close(self) -> None:
        """Let go of the directories (they close once no request uses them)."""
        self._dirs = None

    def _open_file(self, name: ArtName) -> int:
        dirs = self._directories()
        try:
            return dirs.open(name)
        except FileNotFoundError:
            if dirs.current(self._root_path, name.hash[:2]):
                raise
        with self._lock:
            if self._dirs is dirs:
                self._dirs = None
        return self._directories().open(name)

    def _directories(self) -> _Directories:
        dirs = self._dirs
        if dirs is None:
            with self._lock:
                if self._dirs is None:
                    self._dirs = _Directories(os.open(self._root_path, _DIR_FLAGS))
                dirs = self._dirs
        return dirs


class _Directories:
    """Descriptors of art/ and its fan-out directories; closed with the last reference to it.

    A request holds a reference while it opens a file, so a replaced set is never closed (and its
    descriptor numbers never reused) under a request still using it.
    """

    def __init__(self, root_fd: int) -> None:
        self.root = root_fd
        self.fanouts: dict[str, int] = {}
        self._lock = threading.Lock()

    def open(self, name: ArtName) -> int:
        """The file's descriptor, opened below the fan-out directory without following links."""
        return os.open(name.filename, _FILE_FLAGS, dir_fd=self._fanout(name.hash[:2]))

    def current(self, root_path: str, fanout: str) -> bool:
        """Whether these descriptors are still the directories at those paths."""
        try:
            if not _same_file(os.fstat(self.root), os.stat(root_path, follow_symlinks=False)):
                return False
            fanout_fd = self.fanouts.get(fanout)
            return fanout_fd is None or _same_file(
                os.fstat(fanout_fd), os.stat(fanout, dir_fd=self.root, follow_symlinks=False)
            )
        except OSError:
            return False

    def _fanout(self, fanout: str) -> int:
        fd = self.fanouts.get(fanout)
        if fd is None:
            opened = os.open(fanout, _DIR_FLAGS, dir_fd=self.root)
            with self._lock:
                fd = self.fanouts.setdefault(fanout, opened)
            if fd != opened:  # another thread was first
                os.close(opened)
        return fd

    def __del__(self) -> None:
        for fd in (*self.fanouts.values(), self.root):
            with contextlib.suppress(OSError):
                os.close(fd)


def _plain_component(part: str) -> bool:
    """One file or directory name: no separator, no NUL, not `.` or `..`."""
    return bool(part) and "/" not in part and "\0" not in part and part not in {".", ".."}


def _same_file(a: os.stat_result, b: os.stat_result) -> bool:
    return (a.st_dev, a.st_ino) == (b.st_dev, b.st_ino) and a.st_nlink > 0


def art_root_readable(artwork_dir: Path) -> bool:
    """Whether `ARTWORK_DIR/art` is a directory (not a link) that this process can list."""
    art_root = artwork_dir / ART_DIRNAME
    try:
        os.close(os.open(art_root, _DIR_FLAGS))
    except OSError:
        return False
    return os.access(art_root, os.R_OK | os.X_OK)
