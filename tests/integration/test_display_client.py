"""The Qualia display client (display/) on CPython against the real artwork service and Redis.

The client's own modules run unchanged with Adafruit's libraries (Blinka's displayio,
adafruit_requests, adafruit_imageload); only the board's hardware is stood in for (display/sim):
the Wi-Fi radio, the framebuffer and the `jpegio` core module. The clock is a fake where a test
says so, so that minutes of outage take milliseconds.
"""

from __future__ import annotations

import http.server
import io
import json
import threading
import time
import tracemalloc
from collections.abc import Iterator
from typing import Any

import pytest
import redis
from PIL import Image, ImageChops, ImageStat

import simulator
from contract.layout import ArtName
from contract.profiles import BUILTIN_PROFILES, parse_profiles
from contract.redis_keys import RedisKeys
from contract.zone import EventType, Source, TransportState
from harness.gunicorn import ArtworkServer, artwork_in, make_zone, seed_zone
from harness.redis_server import RedisServer
from harness.tcp_gate import TcpGate
from harness.waiting import wait_for
from poller.publisher import RedisPublisher
from poller.render import Caption, placeholder_art
from sonos_display.settings import Settings
from standins import SimRadio
from tests.support.artwork import write_real_rendition, write_rendition_of

pytestmark = pytest.mark.timeout(90)

SQUARE, JPEG, BAR = (BUILTIN_PROFILES[p] for p in ("square720", "jpeg720", "bar320x960"))
ZONE = "kitchen"


_built: list[Any] = []


def build(*args: Any, **kwargs: Any) -> tuple[Any, Any]:
    """simulator.build, remembered so that each client's sockets are closed after its test."""
    client, display = simulator.build(*args, **kwargs)
    _built.append(client)
    return client, display


@pytest.fixture(autouse=True)
def _close_clients() -> Iterator[None]:
    yield
    while _built:
        _built.pop().fetcher.reset()


@pytest.fixture(scope="module")
def server(redis_server: RedisServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ArtworkServer]:
    with artwork_in(redis_server, tmp_path_factory.mktemp("display-client")) as running:
        yield running


def play(
    server: ArtworkServer, redis_url: str, colour: tuple[int, int, int], version: int, **fields: Any
) -> dict[str, ArtName]:
    """The zone plays new art, rendered by the poller's renderer for every default profile."""
    caption = Caption(f"Song {version}", "Artist", "Album")
    images = {
        p.name: write_real_rendition(server.artwork_dir, p, colour=colour, caption=caption)
        for p in (SQUARE, JPEG, BAR)
    }
    seed_zone(redis_url, make_zone(ZONE, images, title=f"Song {version}", version=version, **fields))
    return images


def shows(
    frame: Image.Image, server: ArtworkServer, name: ArtName, box: tuple[int, int, int, int] | None = None
) -> bool:
    """Whether the frame is the served rendition (within RGB565's rounding), or that part of it."""
    with Image.open(server.artwork_dir / name.relpath) as served:
        expected = served.convert("RGB")
    if box is not None:
        frame, expected = frame.crop(box), expected.crop(box)
    return (
        frame.size == expected.size and max(ImageStat.Stat(ImageChops.difference(frame, expected)).mean) < 4
    )


class FakeClock:
    """Monotonic seconds that move only when the test says so."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def settings_for(server: ArtworkServer, panel: str = "square720", **options: Any) -> Settings:
    return Settings(
        server=f"http://127.0.0.1:{server.port}", zone=ZONE, panel=panel, wait_seconds=2, **options
    )


def close_to(pixel: tuple[int, ...], colour: tuple[int, int, int], tolerance: int = 24) -> bool:
    return all(abs(a - b) <= tolerance for a, b in zip(pixel, colour, strict=False))


class Running:
    """The client's loop in a thread with real time, stopped at the end of the test."""

    def __init__(self, client: Any) -> None:
        self.client = client
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=client.run, args=(self._stop.wait, self._stop.is_set), daemon=True
        )
        self._thread.start()

    def close(self) -> None:
        self._stop.set()
        self._thread.join(10)


def test_the_first_frame_is_the_zones_cover_and_an_unchanged_zone_costs_no_download(server, redis_url):
    images = play(server, redis_url, (200, 40, 90), 1)
    client, display = build(settings_for(server), None, log=lambda _line: None)

    for _ in range(4):  # the first round shows it; the others are held requests answered 304
        client.step()

    assert display.frame.size == (720, 720)
    assert shows(display.frame, server, images["jpeg720"])
    assert (client.fetcher.downloads, client.screen.decodes, display.refreshes) == (1, 1, 1)
    assert client.requests == 4


def test_a_change_reaches_the_panel_at_once_on_the_wait_path(server, redis_url):
    play(server, redis_url, (30, 90, 200), 2)
    client, display = build(settings_for(server), None, log=lambda _line: None)
    client.settings.wait_seconds = 3
    client.settings.poll_seconds = 5  # polled instead of held, a change would take up to 5 s
    running = Running(client)
    try:
        wait_for(lambda: display.refreshes == 1, 10, what="the first frame")
        images = play(server, redis_url, (220, 180, 20), 3)
        published = time.monotonic()
        wait_for(lambda: display.refreshes == 2, 10, interval_seconds=0.005, what="the new frame")
        latency = time.monotonic() - published
    finally:
        running.close()

    print(f"new frame {latency * 1000:.0f} ms after the publish")
    assert shows(display.frame, server, images["jpeg720"])
    # Held, the answer leaves with the change (about 0.1 to 0.3 s here with the decode, under the whole
    # suite's load; bench/ glass measures it). Only the bound between held and polled is asserted.
    assert latency < 1.0


def test_a_server_that_does_not_hold_is_polled_every_poll_interval(redis_server, redis_url, tmp_path_factory):
    # ARTWORK_MAX_WAITERS=0 answers every `?wait=` at once, as an older server (or a full one) does.
    extra = {"ARTWORK_MAX_WAITERS": "0"}
    with artwork_in(redis_server, tmp_path_factory.mktemp("display-unheld"), extra) as unheld:
        play(unheld, redis_url, (30, 90, 200), 4)
        client, _display = build(settings_for(unheld, poll_seconds=2), None, log=lambda _line: None)

        delays = [client.step() for _ in range(3)]

    assert delays[0] == 0.0  # the 200: ask again at once
    assert delays[1:] == [2, 2]  # 304s that came back at once: poll


def test_while_the_server_is_away_the_picture_stays_with_an_offline_mark_and_comes_back_by_itself(
    server, redis_url
):
    images = play(server, redis_url, (200, 40, 90), 5)
    gate = TcpGate(server.port)
    clock = FakeClock()
    settings = Settings(server=f"http://127.0.0.1:{gate.port}", zone=ZONE, wait_seconds=2, reload_minutes=30)
    client, display = build(settings, None, clock=clock, rng=lambda: 0.999, log=lambda _line: None)
    try:
        client.step()
        assert display.refreshes == 1
        gate.close()
        delays = []
        while clock.now < 1000 + 300:  # five minutes away, on the fake clock
            delay = client.step()
            delays.append(delay)
            clock.now += delay
        offline_frame = display.frame
        gate.open()
        clock.now += client.step()
    finally:
        gate.close()

    assert delays[:6] == pytest.approx([1, 2, 4, 8, 16, 32], rel=0.01)
    assert max(delays) == pytest.approx(60, rel=0.01)  # and no more
    assert shows(offline_frame, server, images["jpeg720"], (40, 40, 720, 720)), "the picture stayed"
    assert close_to(offline_frame.getpixel((20, 20)), (197, 0, 0)), "with the offline mark"
    assert not client.screen.offline
    assert shows(display.frame, server, images["jpeg720"]), "the mark went with the outage"


def test_a_radio_that_drops_is_reconnected_and_a_board_without_success_reloads(server, redis_url):
    play(server, redis_url, (200, 40, 90), 6)
    clock = FakeClock()
    radio = SimRadio()
    reloads: list[float] = []
    client, _display = build(
        settings_for(server), None, radio=radio, clock=clock, rng=lambda: 0.5,
        reload=lambda: reloads.append(clock.now), log=lambda _line: None,
    )  # fmt: skip
    client.step()
    radio.drop()
    for _ in range(3):
        clock.now += client.step()
    radio.restore()
    clock.now += client.step()
    assert radio.connected
    assert not client.screen.offline

    radio.drop()
    while not reloads and clock.now < 1000 + 3600:
        clock.now += max(client.step(), 1)

    assert radio.connects >= 4
    assert reloads, "supervisor.reload() after SONOS_RELOAD_MINUTES without a success"
    assert 600 <= reloads[0] - 1000 - 10 <= 700


@pytest.mark.parametrize("profile", [SQUARE, JPEG], ids=["bmp", "jpeg"])
def test_a_line_in_placeholder_is_shown_as_the_server_rendered_it(server, redis_url, profile):
    caption = Caption("Audio Component", "", "")
    with placeholder_art("Line-in") as base:
        images = {
            p.name: write_rendition_of(server.artwork_dir, p, base, "line-in", caption)
            for p in (SQUARE, JPEG)
        }
    seed_zone(redis_url, make_zone(ZONE, images, source=Source.LINE_IN, title="Audio Component", version=8))
    # Firmware without jpegio takes the panel's BMP profile.
    client, display = build(settings_for(server), None, log=lambda _line: None, jpeg=profile is JPEG)
    assert client.panel.profile == profile.name

    client.step()

    with Image.open(server.artwork_dir / images[profile.name].relpath) as served:
        expected = served.convert("RGB")
    difference = ImageChops.difference(display.frame, expected)
    assert display.frame.size == (720, 720)
    assert max(ImageStat.Stat(difference).mean) < 4  # RGB565 on the panel, nothing else


def test_the_bar_shows_its_art_at_the_top_and_its_text_below(server, redis_url):
    images = {
        p.name: write_real_rendition(server.artwork_dir, p, colour=(10, 200, 60)) for p in (SQUARE, JPEG, BAR)
    }
    seed_zone(redis_url, make_zone(ZONE, images, version=9))
    client, display = build(settings_for(server, panel="bar320x960"), None, log=lambda _line: None)

    client.step()

    frame = display.frame
    assert frame.size == (320, 960)
    assert shows(frame, server, images["bar320x960"])
    art_blue = ImageStat.Stat(frame.crop((0, 0, 320, 320)).getchannel("B"))
    assert abs(art_blue.mean[0] - 60) < 12, (
        "the art (blue 60 throughout) is at the top, as the original has it"
    )
    assert art_blue.stddev[0] < 12
    text_area = frame.crop((0, 340, 320, 960)).convert("L")
    assert ImageStat.Stat(text_area).mean[0] < 60, "below it the text panel (dark, light letters)"
    assert text_area.getextrema()[1] > 200


# --- bodies the real service never sends ---------------------------------------------------------


class FaultyServer:
    """A stand-in for a broken server (the real one never sends these): the zone's JSON names an
    art URL, and each art URL answers as the test says, truncated or wrong if need be."""

    def __init__(self) -> None:
        self.version = 0
        self.art_path = ""
        self.answers: dict[
            str, tuple[int, dict[str, str], bytes, int]
        ] = {}  # path -> status, headers, body, sent
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *_args: object) -> None:
                pass

            def do_GET(self) -> None:
                if self.path.startswith("/api/zones/"):
                    etag = f'"v{outer.version}"'
                    if self.headers.get("If-None-Match") == etag:
                        self.send_response(304)
                        self.send_header("ETag", etag)
                        self.send_header("Content-Length", "0")
                        self.end_headers()
                        return
                    body = json.dumps({"state": "PLAYING", "title": f"v{outer.version}", "updated_at": 0,
                                       "art_urls": {"jpeg720": outer.art_path}}).encode()  # fmt: skip
                    outer.reply(
                        self, 200, {"Content-Type": "application/json", "ETag": etag}, body, len(body)
                    )
                    return
                status, headers, body, sent = outer.answers[self.path]
                outer.reply(self, status, headers, body, sent)

        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self._server.server_address[1]
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    @staticmethod
    def reply(handler: Any, status: int, headers: dict[str, str], body: bytes, sent: int) -> None:
        handler.send_response(status)
        for key, value in {"Content-Length": str(len(body)), **headers}.items():
            handler.send_header(key, value)
        handler.end_headers()
        handler.wfile.write(body[:sent])
        if sent < len(body):
            handler.close_connection = True

    def serve(
        self, status: int, body: bytes, content_type: str = "image/jpeg", sent: int | None = None
    ) -> None:
        """The zone changes to art answered like this."""
        self.version += 1
        self.art_path = f"/art/v{self.version}.jpg"
        self.answers[self.art_path] = (
            status,
            {"Content-Type": content_type},
            body,
            len(body) if sent is None else sent,
        )

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


def jpeg_of(size: tuple[int, int], colour: tuple[int, int, int]) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, colour).save(out, format="JPEG", quality=90)
    return out.getvalue()


@pytest.mark.parametrize(
    ("case", "answer"),
    [
        ("a 2 MB body", {"status": 200, "body": bytes(2 * 1024 * 1024)}),
        ("a truncated body", {"status": 200, "body": jpeg_of((720, 720), (0, 0, 255)), "sent": 5000}),
        ("HTML with 200", {"status": 200, "body": b"<html>oops</html>", "content_type": "text/html"}),
        ("a 360x360 image", {"status": 200, "body": jpeg_of((360, 360), (0, 0, 255))}),
        ("a 500", {"status": 500, "body": b"{}", "content_type": "application/json"}),
    ],
)
def test_a_bad_body_keeps_the_last_image_and_the_next_good_one_is_shown(case, answer):
    faulty = FaultyServer()
    lines: list[str] = []
    try:
        settings = Settings(server=f"http://127.0.0.1:{faulty.port}", zone=ZONE, wait_seconds=1)
        client, display = build(settings, None, log=lines.append)
        faulty.serve(200, jpeg_of((720, 720), (200, 40, 90)))
        client.step()
        faulty.serve(**answer)
        client.step()
        kept = display.frame
        refreshes = display.refreshes
        faulty.serve(200, jpeg_of((720, 720), (30, 200, 60)))
        for _ in range(3):  # a pause after the refusal, then the good one
            client.step()
    finally:
        faulty.close()

    assert refreshes == 1, f"{case}: the panel changed"
    assert close_to(kept.getpixel((360, 360)), (200, 40, 90)), f"{case}: the last image went"
    assert any(line.startswith("not shown:") for line in lines), lines
    assert close_to(display.frame.getpixel((360, 360)), (30, 200, 60)), f"{case}: did not recover"


def test_memory_per_image_swap_is_one_picture_and_it_does_not_grow(redis_server, redis_url, tmp_path_factory):
    """A proxy for the board's 8 MB of PSRAM: Python's own allocations on CPython (tracemalloc).

    A small custom panel keeps 200 swaps quick; what is measured is proportional to the picture.
    """
    thumb = parse_profiles("thumb=240x240.jpg")[0]
    extra = {"ARTWORK_PROFILES": "square720,bar320x960,jpeg720,thumb=240x240.jpg"}
    with artwork_in(redis_server, tmp_path_factory.mktemp("display-memory"), extra) as small:
        names = [
            write_real_rendition(small.artwork_dir, thumb, colour=c) for c in ((200, 40, 90), (30, 90, 200))
        ]
        seed_zone(redis_url, make_zone(ZONE, {"thumb": names[0]}, version=400))
        client, _display = build(settings_for(small, panel="thumb=240x240.jpg"), None, log=lambda _line: None)
        client.settings.wait_seconds = 5
        # One publisher for the whole loop: a client per change would grow redis-py's caches, not ours.
        publisher = RedisPublisher(redis.Redis.from_url(redis_url, decode_responses=True), RedisKeys())
        tracemalloc.start()
        try:
            picture_bytes = _picture_bytes(240, 240)
            budget = 1.25 * (picture_bytes + len(client.fetcher.buffer))
            peaks, after = [], []
            for n in range(200):
                publisher.publish(
                    make_zone(ZONE, {"thumb": names[(n + 1) % 2]}, version=401 + n), EventType.TRACK
                )
                tracemalloc.reset_peak()
                before = tracemalloc.get_traced_memory()[0]
                client.step()
                current, peak = tracemalloc.get_traced_memory()
                peaks.append(peak - before)
                after.append(current)
        finally:
            tracemalloc.stop()

    assert client.screen.decodes == 200
    print(f"peak per swap {max(peaks)} B of {budget:.0f} B; after swap 10: {after[10]} B, 200: {after[-1]} B")
    assert max(peaks) <= budget
    # Pillow's stand-in decoder fills a few caches early (about 25 KB); a leak would grow without end.
    assert after[-1] - after[10] < 64 * 1024, "memory grew over 200 swaps"


def _picture_bytes(width: int, height: int) -> int:
    """The peak that making one decoded picture costs here (Blinka builds a list before its array)."""
    import displayio  # noqa: PLC0415 - Blinka's, on the test's path

    tracemalloc.reset_peak()
    before = tracemalloc.get_traced_memory()[0]
    bitmap = displayio.Bitmap(width, height, 65535)
    del bitmap
    return tracemalloc.get_traced_memory()[1] - before


def test_a_zone_paused_for_the_idle_minutes_dims_the_panel(server, redis_url):
    play(server, redis_url, (200, 40, 90), 300, state=TransportState.PAUSED_PLAYBACK)
    clock = FakeClock()
    client, display = build(
        settings_for(server, idle_dim_minutes=1), None, clock=clock, log=lambda _line: None
    )

    client.step()
    assert display.brightness == 1.0
    clock.now += 61
    client.step()
    dimmed = display.brightness
    play(server, redis_url, (200, 40, 90), 301, state=TransportState.PLAYING)
    client.step()

    assert dimmed < 1.0
    assert display.brightness == 1.0
