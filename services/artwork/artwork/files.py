"""Opening renditions on the artwork volume without following links or racing the writer."""

from __future__ import annotations

import errno
import logging
import os
import stat
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


def open_rendition(artwork_dir: Path, name: ArtName) -> OpenRendition:
    """Open `ARTWORK_DIR/<name.relpath>`, built only from validated parts; the caller closes it."""
    try:
        fd = _open_file(artwork_dir, name)
    except OSError as exc:
        if exc.errno not in _MISSING:
            log.warning("cannot open %s: %s", name.relpath, exc.strerror)
        raise ArtNotFound(name.filename) from exc
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise ArtNotFound(name.filename)
        file = os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise
    return OpenRendition(file=file, size_bytes=info.st_size, mtime_seconds=info.st_mtime)


def art_root_readable(artwork_dir: Path) -> bool:
    """Whether `ARTWORK_DIR/art` is a directory (not a link) that this process can list."""
    art_root = artwork_dir / ART_DIRNAME
    try:
        os.close(os.open(art_root, _DIR_FLAGS))
    except OSError:
        return False
    return os.access(art_root, os.R_OK | os.X_OK)


def _open_file(artwork_dir: Path, name: ArtName) -> int:
    # Walk art/<h2>/<file> one component at a time relative to directory fds, so each
    # component is checked for links and no path string from a client is ever joined.
    art_fd = os.open(artwork_dir / ART_DIRNAME, _DIR_FLAGS)
    try:
        fanout_fd = os.open(name.hash[:2], _DIR_FLAGS, dir_fd=art_fd)
    finally:
        os.close(art_fd)
    try:
        return os.open(name.filename, _FILE_FLAGS, dir_fd=fanout_fd)
    finally:
        os.close(fanout_fd)
