"""Loopback addresses and ports that do not collide between parallel test workers."""

from __future__ import annotations

import itertools
import os
import socket
from collections.abc import Iterator


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port that is free right now on host."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def worker_index() -> int:
    """0 for the main process or xdist worker gw0, 1 for gw1, and so on."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0")
    return int(worker.removeprefix("gw") or 0)


def loopback_ips() -> Iterator[str]:
    """Endless fresh addresses 127.0.<worker+1>.N, so fakes on port 1400 never clash."""
    third = worker_index() + 1
    for n in itertools.count(2):
        third_octet = third + 16 * (n // 250)  # 250 addresses per block, then the next block
        yield f"127.0.{third_octet}.{n % 250 + 2}"
