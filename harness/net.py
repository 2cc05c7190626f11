"""Loopback addresses and ports that do not collide between parallel test workers."""

from __future__ import annotations

import itertools
import os
import socket
from collections.abc import Iterator

import ifaddr


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
    """Endless fresh addresses 127.<run>.<worker>.N, so fakes on port 1400 never clash.

    The second octet comes from the test run's process group, so two test runs on one machine
    (two checkouts, a benchmark beside the tests) use different blocks too; 127.0.x.x stays free
    for the compose tests and the demo.
    """
    run = 10 + os.getpgrp() % 200
    worker = 1 + worker_index()
    for n in itertools.count(0):
        block, host = divmod(n, 250)
        yield f"127.{run}.{worker + 16 * block}.{host + 2}"


def non_loopback_ipv4() -> str | None:
    """An address soco would send its M-SEARCH from (it skips loopback and link-local)."""
    for adapter in ifaddr.get_adapters():
        for ip in adapter.ips:
            if isinstance(ip.ip, str) and not ip.ip.startswith(("127.", "169.254.")):
                return ip.ip
    return None
