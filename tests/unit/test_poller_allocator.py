"""glibc malloc settings: decoded images stay in mmap'd blocks that go back to the kernel when freed."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from harness.processes import service_env

pytestmark = pytest.mark.timeout(30)

# A fresh interpreter each time: where a block goes depends on what the process allocated before.
# A large cover is decoded and freed, then a smaller one is decoded: does the second get an mmap'd
# block of its own, or a piece of the heap that the process keeps after it is freed?
PROBE = """
import ctypes, json, os, sys
from poller.allocator import tune_malloc

class MallInfo2(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in
                "arena ordblks smblks hblks hblkhd usmblks fsmblks uordblks fordblks keepcost".split()]

libc = ctypes.CDLL(None)
if not hasattr(libc, "mallinfo2"):
    print(json.dumps(None)); sys.exit()
libc.mallinfo2.restype = MallInfo2
tuned = tune_malloc(os.environ) if sys.argv[1] == "tuned" else None
large = bytearray(6_000_000)  # a 1500x1000 RGBA cover
del large
before = libc.mallinfo2().hblkhd
smaller = bytearray(1_000_000)  # a 500x500 RGBA cover
print(json.dumps({"tuned": tuned, "mmapped_bytes": libc.mallinfo2().hblkhd - before}))
"""


def probe(mode: str, **env: str) -> dict[str, object]:
    command = [sys.executable, "-c", PROBE, mode]
    result = subprocess.run(command, env=service_env(**env), capture_output=True, text=True, check=True)
    outcome = json.loads(result.stdout)
    if outcome is None:
        pytest.skip("this C library has no mallinfo2 (glibc 2.33 or later) to look inside")
    return dict(outcome)


def test_after_a_large_cover_a_smaller_one_still_gets_memory_the_kernel_takes_back():
    assert probe("tuned") == {"tuned": True, "mmapped_bytes": pytest.approx(1_000_000, abs=8192)}


def test_by_default_glibc_puts_it_on_the_heap_instead():
    assert probe("default")["mmapped_bytes"] == 0


def test_a_users_own_malloc_setting_is_left_alone():
    assert probe("tuned", MALLOC_MMAP_THRESHOLD_="16777216") == {"tuned": True, "mmapped_bytes": 0}
