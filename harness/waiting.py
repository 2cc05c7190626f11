"""Polling for a condition with a deadline, instead of fixed sleeps."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def wait_for(
    probe: Callable[[], T | None],
    timeout_seconds: float,
    interval_seconds: float = 0.05,
    what: str | Callable[[], str] = "",
) -> T:
    """Call probe until it returns something truthy; fail with what (evaluated then) after the timeout."""
    deadline = time.monotonic() + timeout_seconds
    while True:
        result = probe()
        if result:
            return result
        if time.monotonic() > deadline:
            description = what() if callable(what) else what
            raise AssertionError(f"timed out after {timeout_seconds}s waiting for {description or probe}")
        time.sleep(interval_seconds)
