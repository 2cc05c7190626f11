"""The documented alternatives on a real Docker engine: the poller on the bridge network, a Redis password.

One stack: docker-compose.yml + docker-compose.bridge.yml with REDIS_PASSWORD set and the demo
scenario playing. The emulated speaker listens on the compose network's gateway address, a host
address the bridged poller reaches the way it reaches speakers on a LAN; it calls back on the
published EVENT_LISTENER_PORT at EVENT_ADVERTISE_IP.
"""

from __future__ import annotations

import json
import subprocess
import time
import urllib.request
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from harness.compose import BRIDGE_FILE, COMPOSE_FILE, ComposeStack
from harness.net import free_port
from harness.waiting import wait_for
from tests.e2e.conftest import new_stack, require_engine

pytestmark = [pytest.mark.compose, pytest.mark.timeout(300)]

PASSWORD = f"e2e-{uuid.uuid4().hex}"
ZONE = "living-room"


@pytest.fixture(scope="module")
def stack() -> Iterator[ComposeStack]:
    require_engine()
    settings = {
        "REDIS_PASSWORD": PASSWORD,
        "FAKESONOS_DEMO": "on",
        "FAKESONOS_DEMO_INTERVAL_SECONDS": "5",
        "FAKESONOS_SSDP": "off",
        "EVENT_LISTENER_PORT": str(free_port("0.0.0.0")),
        # Placeholders until the compose network (and so its gateway address) exists.
        "SONOS_SPEAKERS": "192.0.2.1",
        "EVENT_ADVERTISE_IP": "192.0.2.1",
    }
    stack = new_stack("bridge", settings, files=(COMPOSE_FILE, BRIDGE_FILE))
    try:
        stack.up("redis")
        gateway = network_gateway(stack)
        stack.update_env(
            FAKESONOS_SPEAKERS=f"{gateway}=Living Room", SONOS_SPEAKERS=gateway, EVENT_ADVERTISE_IP=gateway
        )
        stack.up()
        yield stack
    finally:
        stack.down()


def network_gateway(stack: ComposeStack) -> str:
    out = subprocess.run(
        ["docker", "network", "inspect", f"{stack.project}_default", "--format",
         "{{range .IPAM.Config}}{{.Gateway}} {{end}}"],
        capture_output=True, text=True, timeout=30, check=True,
    ).stdout  # fmt: skip
    return out.split()[0]


def http_json(stack: ComposeStack, path: str) -> dict[str, Any]:
    url = f"http://127.0.0.1:{stack.env['ARTWORK_PORT']}{path}"
    with urllib.request.urlopen(url, timeout=5) as response:
        document: dict[str, Any] = json.loads(response.read())
    return document


def test_the_bridged_poller_gets_events_through_the_published_listener_port(stack: ComposeStack):
    poller = stack.inspect("poller")
    assert poller["HostConfig"]["NetworkMode"] != "host"
    port = stack.env["EVENT_LISTENER_PORT"]
    assert f"{port}/tcp" in poller["HostConfig"]["PortBindings"]

    # A zone stays in "events" mode only after the speaker's NOTIFY reached the listener.
    def events_mode() -> bool:
        beat = stack.redis_json("sonos:poller")
        return beat is not None and beat["zones"] == {ZONE: "events"} and beat["mode"] == "events"

    wait_for(
        events_mode, timeout_seconds=60, interval_seconds=1, what=lambda: stack.logs("poller", "fakesonos")
    )
    # Longer than the poller's wait for a first NOTIFY (5 s): still events, no fallback logged.
    time.sleep(8)
    assert events_mode(), stack.logs("poller")
    assert "no events" not in stack.logs("poller", tail=300)


def test_the_demo_changes_the_art_the_kiosk_shows_within_a_minute(stack: ComposeStack):
    first = wait_for(
        lambda: http_json(stack, f"/api/zones/{ZONE}").get("art_hash"),
        timeout_seconds=30,
        interval_seconds=1,
        what="a first album cover",
    )
    wait_for(
        lambda: http_json(stack, f"/api/zones/{ZONE}").get("art_hash") not in (None, "", first),
        timeout_seconds=60,
        interval_seconds=1,
        what=lambda: f"the demo changing the cover from {first}\n{stack.logs()}",
    )
    url = f"http://127.0.0.1:{stack.env['ARTWORK_PORT']}/?zone={ZONE}"
    with urllib.request.urlopen(url, timeout=5) as response:
        assert response.status == 200
        assert response.headers.get_content_type() == "text/html"


def test_redis_requires_the_password_and_every_service_uses_it(stack: ComposeStack):
    anonymous = stack.exec("redis", "redis-cli", "GET", "sonos:poller")
    assert "NOAUTH" in anonymous
    assert stack.redis_json("sonos:poller") is not None  # the poller writes with the password
    url = f"http://127.0.0.1:{stack.env['ARTWORK_PORT']}/readyz"
    with urllib.request.urlopen(url, timeout=5) as response:  # artwork reads with it
        assert response.status == 200
    assert http_json(stack, f"/api/zones/{ZONE}")["title"]
    assert stack.health() == {name: "healthy" for name in ("redis", "poller", "artwork", "fakesonos")}
