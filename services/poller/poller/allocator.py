"""glibc malloc settings for a long-running process that decodes images on several threads.

By default glibc raises its mmap threshold to the size of the largest mmap'd block freed so far, so
after one large cover the next ones are carved from a heap, and each thread gets heaps of its own;
freed image memory then stays with the process, fragmented, between renders. A fixed threshold
keeps decoded images in mmap'd blocks that go back to the kernel when freed, and two arenas are
enough for a fixed set of zone workers (bench/ soak: RSS growth over 5,000 changes about halved).
"""

from __future__ import annotations

import ctypes
import logging
from collections.abc import Mapping

log = logging.getLogger(__name__)

# mallopt(3) parameters, from glibc's malloc.h.
M_MMAP_THRESHOLD = -3
M_ARENA_MAX = -8
MMAP_THRESHOLD_BYTES = 64 * 1024  # any decoded cover: 128x128 RGBA is 64 KiB
ARENA_MAX = 2
# The environment variables glibc reads for the same settings: a user's own choice wins.
_ENV_KEYS = {M_MMAP_THRESHOLD: "MALLOC_MMAP_THRESHOLD_", M_ARENA_MAX: "MALLOC_ARENA_MAX"}


def tune_malloc(environ: Mapping[str, str]) -> bool:
    """Apply the settings (call before starting threads); False where the C library has no mallopt."""
    try:
        mallopt = ctypes.CDLL(None).mallopt  # the process's own C library
    except (OSError, AttributeError):
        log.debug("no mallopt in this C library (not glibc); allocator left as it is")
        return False
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    mallopt.restype = ctypes.c_int
    wanted = {M_MMAP_THRESHOLD: MMAP_THRESHOLD_BYTES, M_ARENA_MAX: ARENA_MAX}
    chosen = {param: value for param, value in wanted.items() if _ENV_KEYS[param] not in environ}
    return all(mallopt(param, value) == 1 for param, value in chosen.items())
