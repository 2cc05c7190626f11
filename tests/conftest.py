"""Shared fixtures: one real redis-server per test worker, fresh loopback addresses, fake households."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import redis

from contract.redis_keys import RESYNC_MESSAGE, RedisKeys
from fakesonos import Household
from fakesonos.control import ControlServer
from fakesonos.ssdp import SsdpResponder
from harness.fakesonos import DEFAULT_ROOMS, reset_soco, start_household, stop_soco_events
from harness.net import loopback_ips, non_loopback_ipv4
from harness.redis_server import RedisServer


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    """A real redis-server for this worker; tests may kill and restart it."""
    server = RedisServer(tmp_path_factory.mktemp("redis"))
    server.start()
    yield server
    server.stop()


@pytest.fixture
def redis_url(redis_server: RedisServer) -> str:
    """URL of an empty database on the worker's redis-server (started again if a test killed it)."""
    if not redis_server.running:
        redis_server.start()
    client = redis.Redis.from_url(redis_server.url, socket_timeout=2, retry=None)
    # A flush publishes nothing: tell running artwork services (module-scoped ones) to re-read,
    # in the same transaction, so the message reaches them before this returns.
    with client.pipeline(transaction=True) as flush:
        flush.flushall()
        flush.publish(RedisKeys().changes, RESYNC_MESSAGE)
        flush.execute()
    client.close()
    return redis_server.url


@pytest.fixture(scope="session")
def _ip_pool() -> Iterator[str]:
    return loopback_ips()


@pytest.fixture
def next_ip(_ip_pool: Iterator[str]) -> Callable[[], str]:
    """Hands out loopback addresses never used before in this worker (each can hold port 1400)."""
    return lambda: next(_ip_pool)


@pytest.fixture
def artwork_dir(tmp_path: Path) -> Path:
    """An empty artwork volume."""
    path = tmp_path / "artwork"
    path.mkdir()
    return path


# --- fakesonos: emulated Sonos households -------------------------------------------------------


@pytest.fixture
def fake_household(next_ip: Callable[[], str]) -> Iterator[Callable[..., Household]]:
    """`fake_household("Den", ...)` starts a household on fresh addresses; soco is reset around the test."""
    started: list[Household] = []
    reset_soco()

    def start(*rooms: str) -> Household:
        household = start_household(next_ip, rooms or DEFAULT_ROOMS)
        started.append(household)
        return household

    yield start
    for household in started:
        household.stop()
    reset_soco()


@pytest.fixture
def fakesonos_control() -> Iterator[Callable[[Household], str]]:
    """Serves a household's JSON control API on a free loopback port; returns its base URL."""
    servers: list[ControlServer] = []

    def start(household: Household) -> str:
        server = ControlServer(household, ("127.0.0.1", 0))
        server.start()
        servers.append(server)
        return server.url

    yield start
    for server in servers:
        server.stop()


@pytest.fixture
def soco_events() -> Iterator[None]:
    """Leaves soco's shared event listener stopped and closed after a test that subscribes."""
    yield
    stop_soco_events()


@pytest.fixture
def ssdp_household(
    fake_household: Callable[..., Household],
) -> Iterator[tuple[Household, SsdpResponder, str]]:
    """A started household answering SSDP (UDP 1900 is shared with SO_REUSEPORT), and the interface."""
    interface = non_loopback_ipv4()
    if interface is None:
        pytest.skip("no non-loopback IPv4 interface: soco.discover() has nothing to search on")
    household = fake_household("Living Room", "Kitchen")
    responder = SsdpResponder(household)
    try:
        responder.start()
    except OSError as exc:
        pytest.skip(f"cannot listen for SSDP on UDP 1900 here: {exc}")
    yield household, responder, interface
    responder.stop()
