"""Compose stacks on a real Docker engine: one per test module, skipped with a reason without one."""

from __future__ import annotations

import os
import uuid
from collections.abc import Mapping, Sequence

import pytest

from harness.compose import COMPOSE_FILE, ComposeStack, engine_unavailable_reason
from harness.net import free_port

# Emulated speakers on a loopback block no integration-test worker uses, different per process so
# that two stacks (two xdist workers, or two checkouts) never fight over the same address.
SPEAKER_BLOCK = f"127.0.{200 + os.getpid() % 50}"


# Set by .ci/run: there the compose tests must run, and a missing engine fails them instead.
REQUIRED_ENV = "COMPOSE_TESTS_REQUIRED"


def require_engine() -> None:
    """Skip the calling test or fixture, saying why, when no Docker engine with Compose v2 answers.

    In CI (COMPOSE_TESTS_REQUIRED=1) that is a failure: green without the compose tests is no green.
    """
    reason = engine_unavailable_reason()
    if reason is not None:
        if os.environ.get(REQUIRED_ENV) == "1":
            pytest.fail(f"{REQUIRED_ENV}=1 but {reason}")
        pytest.skip(reason)


def new_stack(name: str, settings: Mapping[str, str], files: Sequence[str] = (COMPOSE_FILE,)) -> ComposeStack:
    """A stack with its own project name, free host ports and a watchdog short enough for tests."""
    env = {
        "REDIS_HOST_PORT": str(free_port()),
        "ARTWORK_PORT": str(free_port()),
        "FAKESONOS_CONTROL_PORT": str(free_port()),
        "FAKESONOS_DEMO": "off",
        # The test-only stall (SIGUSR1) ends in an exit after this; a real loop ticks every 2 s.
        "WATCHDOG_SECONDS": "10",
        **settings,
    }
    return ComposeStack(project=f"sonosart-{name}-{os.getpid()}-{uuid.uuid4().hex[:4]}", env=env, files=files)


@pytest.fixture(scope="session")
def engine() -> None:
    """A Docker engine answers (else every test using this skips, saying why)."""
    require_engine()
