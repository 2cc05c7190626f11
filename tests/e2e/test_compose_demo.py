"""The demo stack on a real Docker engine: a track change travels from fakesonos to a display URL."""

from __future__ import annotations

import io
import json
import urllib.request
import uuid

import pytest
from PIL import Image

from tests.support.compose import ComposeStack
from tests.support.waiting import wait_for

# The suite runs with `--dist loadfile`, so every test of this module shares one stack on one worker.
pytestmark = [pytest.mark.compose, pytest.mark.timeout(1200)]


def http_get(url: str, timeout_seconds: float = 5) -> tuple[int, bytes]:
    with urllib.request.urlopen(url, timeout=timeout_seconds) as response:
        return response.status, response.read()


def set_track(stack: ComposeStack, zone: str, title: str) -> None:
    body = json.dumps({"title": title, "artist": "E2E Artist", "album": "E2E Album"}).encode()
    request = urllib.request.Request(
        f"http://127.0.0.1:{stack.env['FAKESONOS_CONTROL_PORT']}/speakers/{zone}/track",
        data=body,
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=5) as response:
        assert response.status == 200


def redis_zone(stack: ComposeStack, zone: str) -> dict[str, str]:
    out = stack.run("exec", "-T", "redis", "redis-cli", "--no-raw", "HGETALL", f"sonos:zone:{zone}").stdout
    lines = [json.loads(line.split(") ", 1)[1]) for line in out.splitlines() if ") " in line]
    return dict(zip(lines[::2], lines[1::2], strict=True))


def test_every_service_is_healthy(compose_stack: ComposeStack):
    services = [json.loads(line) for line in compose_stack.run("ps", "--format", "json").stdout.splitlines()]
    health = {s["Service"]: s["Health"] for s in services}
    assert health == {name: "healthy" for name in ("redis", "poller", "artwork", "fakesonos")}


def test_track_change_reaches_redis_and_the_zone_image(compose_stack: ComposeStack):
    title = f"E2E {uuid.uuid4().hex[:8]}"
    set_track(compose_stack, "living-room", title)

    zone = wait_for(
        lambda: zone if (zone := redis_zone(compose_stack, "living-room")).get("title") == title else None,
        timeout_seconds=30,
        interval_seconds=0.5,
        what=lambda: f"{title!r} in sonos:zone:living-room\n{compose_stack.logs()}",
    )
    assert zone["artist"] == "E2E Artist"

    port = compose_stack.env["ARTWORK_PORT"]
    status, body = http_get(f"http://127.0.0.1:{port}/zones/living-room/square720.bmp")
    assert status == 200
    with Image.open(io.BytesIO(body)) as image:
        assert (image.format, image.size, image.mode) == ("BMP", (720, 720), "P")
    status, body = http_get(f"http://127.0.0.1:{port}/api/zones/living-room")
    assert json.loads(body)["title"] == title
