"""One compose stack per test session, on a real Docker engine; skipped with a reason without one."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from tests.support.compose import ComposeStack, engine_unavailable_reason
from tests.support.net import free_port

# Addresses of the emulated speakers: a block no integration test worker uses.
SPEAKERS = {"living-room": ("127.0.200.2", "Living Room"), "kitchen": ("127.0.200.3", "Kitchen")}


@pytest.fixture(scope="session")
def compose_stack() -> Iterator[ComposeStack]:
    """The demo stack, built from this checkout, torn down with its volume even when tests fail."""
    reason = engine_unavailable_reason()
    if reason is not None:
        pytest.skip(reason)
    stack = ComposeStack(
        project=f"sonosart-e2e-{os.getpid()}",
        env={
            "REDIS_HOST_PORT": str(free_port()),
            "ARTWORK_PORT": str(free_port()),
            "FAKESONOS_CONTROL_PORT": str(free_port()),
            "FAKESONOS_SPEAKERS": ",".join(f"{ip}={room}" for ip, room in SPEAKERS.values()),
            "FAKESONOS_DEMO": "off",
            "SONOS_SPEAKERS": ",".join(ip for ip, _ in SPEAKERS.values()),
        },
    )
    try:
        stack.up()
        yield stack
    finally:
        stack.down()
