"""Display client: what an idle room costs on the wire, and what one change costs, JPEG vs BMP.

The client is display/'s own code on CPython with the simulated hardware (as `make display-sim`
runs it); the original client is its loop as the original `code.py` runs it: `metadata.json` every
2 s and the 720x720 BMP again every 60 s. Both talk to the real artwork service under gunicorn
through a TCP forwarder that counts every byte, both ways, headers included.
"""

from __future__ import annotations

import http.client
import threading
import time
from functools import partial
from typing import Any

from bench.common import Result, Stack, check, median
from bench.household import base_cover, poller_stack, track, unique_cover
from bench.http_serving import start_gunicorn
from harness.tcp_gate import TcpGate
from harness.waiting import wait_for
from simulator import build
from sonos_display.settings import Settings

BENCH = "display"
ROOM, ZONE = "Panel Room", "panel-room"
ORIGINAL_POLL_SECONDS = 2.0
ORIGINAL_REDOWNLOAD_SECONDS = 60.0
ORIGINAL_REQUESTS_PER_HOUR = 3600 / ORIGINAL_POLL_SECONDS + 3600 / ORIGINAL_REDOWNLOAD_SECONDS
TARGET_IDLE_RATIO = 0.02


def _original_client(port: int, stop: threading.Event) -> None:
    """The original square client's loop: metadata.json every 2 s, the BMP every 60 s regardless."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    last_image = 0.0
    while not stop.is_set():
        conn.request("GET", "/metadata.json")
        conn.getresponse().read()
        if time.monotonic() - last_image >= ORIGINAL_REDOWNLOAD_SECONDS:
            conn.request("GET", "/Adafruit/artwork.bmp")
            conn.getresponse().read()
            last_image = time.monotonic()
        stop.wait(ORIGINAL_POLL_SECONDS)
    conn.close()


def _published(client: Any, title: str) -> bool:
    return bool(client.hget(f"sonos:zone:{ZONE}", "title") == title)


def _client(port: int, *, jpeg: bool) -> Any:
    settings = Settings(server=f"http://127.0.0.1:{port}", zone=ZONE, panel="square720")
    client, _display = build(settings, None, log=lambda _line: None, jpeg=jpeg)
    return client


def run(quick: bool = False) -> list[Result]:
    """Measure; returns the result records."""
    idle_seconds = 20.0 if quick else 120.0
    changes = 5 if quick else 20
    with Stack(BENCH) as stack:
        env = poller_stack(stack, [ROOM])
        speaker = env.household.speaker(ZONE)
        art = base_cover(1500)
        speaker.set_track(track("idle", unique_cover(art, -1)))
        poller = env.start_poller("events", DEFAULT_ZONE=ZONE)
        env.wait_for_zones([ZONE], poller)
        port, _pid = start_gunicorn(stack, env.artwork_dir, env.redis_server.url, "artwork", {})

        # An idle room: both clients side by side for the same time.
        ours, original = TcpGate(port), TcpGate(port)
        stack.callback(ours.close)
        stack.callback(original.close)
        stop = threading.Event()
        client = _client(ours.port, jpeg=True)
        threads = [
            threading.Thread(target=client.run, args=(stop.wait, stop.is_set), daemon=True),
            threading.Thread(target=_original_client, args=(original.port, stop), daemon=True),
        ]
        for thread in threads:
            thread.start()
        wait_for(lambda: client.screen.decodes == 1, 20, what="the first picture")
        up, requests = ours.bytes_up + ours.bytes_down, client.requests
        original_before = original.bytes_up + original.bytes_down
        started = time.monotonic()
        time.sleep(idle_seconds)
        hours = (time.monotonic() - started) / 3600
        ours_per_hour = (ours.bytes_up + ours.bytes_down - up) / hours
        original_per_hour = (original.bytes_up + original.bytes_down - original_before) / hours
        our_requests_per_hour = (client.requests - requests) / hours
        stop.set()
        for thread in threads:
            thread.join(40)

        # What one change costs: the same changes seen by a JPEG client and a BMP one.
        per_change: dict[str, list[float]] = {"jpeg": [], "bmp": []}
        gates = {"jpeg": TcpGate(port), "bmp": TcpGate(port)}
        for gate in gates.values():
            stack.callback(gate.close)
        clients = {kind: _client(gate.port, jpeg=kind == "jpeg") for kind, gate in gates.items()}
        for client_of in clients.values():
            client_of.settings.wait_seconds = 0
            client_of.step()
        for n in range(changes):
            before = {kind: gate.bytes_up + gate.bytes_down for kind, gate in gates.items()}
            speaker.set_track(track(f"change {n}", unique_cover(art, n)))
            wait_for(partial(_published, env.client, f"change {n}"), 15, what=f"change {n} published")
            for kind, client_of in clients.items():
                decodes = client_of.screen.decodes
                while client_of.screen.decodes == decodes:
                    client_of.step()
                per_change[kind].append(gates[kind].bytes_up + gates[kind].bytes_down - before[kind])

    idle_ratio = ours_per_hour / original_per_hour
    jpeg_bytes, bmp_bytes = median(per_change["jpeg"]), median(per_change["bmp"])
    return [
        Result(
            BENCH,
            "idle room: bytes per hour, waiting client vs the original",
            idle_ratio,
            "×",
            target=f"≤ {TARGET_IDLE_RATIO:g}×",
            passed=check(idle_ratio, "<=", TARGET_IDLE_RATIO),
            baseline=f"original: {original_per_hour / 1e6:.1f} MB/h",
            detail=f"ours {ours_per_hour / 1e3:.1f} kB/h, on the wire both ways, {idle_seconds:.0f} s"
            " side by side (the original re-downloads its BMP every 60 s)",
        ),
        Result(
            BENCH,
            "idle room: requests per hour, waiting client",
            our_requests_per_hour,
            "req/h",
            baseline=f"original: {ORIGINAL_REQUESTS_PER_HOUR:.0f} req/h",
            detail="one held request per 30 s wait (ARTWORK_MAX_WAIT_SECONDS); the original asks every 2 s",
        ),
        Result(
            BENCH,
            "bytes per change, jpeg720 vs the square720 BMP",
            jpeg_bytes / bmp_bytes,
            "×",
            baseline=f"BMP path: {bmp_bytes / 1e3:.0f} kB per change",
            detail=f"JPEG path: {jpeg_bytes / 1e3:.0f} kB per change (JSON and image, both ways);"
            f" {changes} changes",
        ),
    ]
