"""One compose stack per test session, on a real Docker engine; skipped with a reason without one."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from tests.support.compose import ComposeStack, engine_unavailable_reason
from tests.support.net import free_port

# Emulated speakers on a loopback block no integration-test worker uses, different per process so
# that two stacks (two xdist workers, or two checkouts) never fight over the same address.
_BLOCK = f"127.0.{200 + os.getpid() % 50}"
SPEAKERS = {"living-room": (f"{_BLOCK}.2", "Living Room"), "kitchen": (f"{_BLOCK}.3", "Kitchen")}


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
