"""Fixtures for tests that run the poller as a process."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from harness.poller import PollerRunner


@pytest.fixture
def pollers(redis_url: str, artwork_dir: Path, tmp_path: Path) -> Iterator[PollerRunner]:
    """Start pollers with `pollers.start(household, KEY=value)`; all are killed after the test."""
    runner = PollerRunner(redis_url, artwork_dir, tmp_path)
    yield runner
    runner.close()


@pytest.fixture
def client(redis_url: str) -> Iterator[redis.Redis]:
    """A decoding client of the test's Redis database."""
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    yield client
    client.close()
