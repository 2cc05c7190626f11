"""The observer: reads Redis, HTTP and `docker`, and nothing of the product's code.

Each watcher is a thread that samples until the run's stop event and appends to one `Record`.
Readers that the product serves (display clients, kiosk event streams, legacy pollers) are here
too: what they see is recorded as `Seen`, and every image they get is decoded completely.
An error of the observer itself (docker does not answer) is an `ObserverError`, which ends the
run as a failure: it is never counted as a pass.
"""

from __future__ import annotations

import http.client
import io
import json
import subprocess
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import redis
from PIL import Image

from bench.chaos.invariants import Health, Seen, Violation, parse_title

SERVICES = ("redis", "poller", "artwork", "fakesonos")
ALLOWED_5XX = frozenset({503})  # Redis away, or a connection/waiter limit reached: both documented


class ObserverError(RuntimeError):
    """The observer could not observe: the run proves nothing and fails."""


@dataclass
class Record:
    """Everything the observer and the readers saw, with times in seconds since `t0`."""

    t0: float = field(default_factory=time.monotonic)
    seen: list[Seen] = field(default_factory=list)
    health: list[Health] = field(default_factory=list)
    restarts: list[tuple[float, str]] = field(default_factory=list)
    oom_kills: list[tuple[float, str]] = field(default_factory=list)
    memory: list[tuple[float, str, float, float]] = field(default_factory=list)  # at, service, MiB, CPU %
    volume: list[tuple[float, float, float]] = field(default_factory=list)  # at, cache MiB, oldest temp s
    violations: list[Violation] = field(default_factory=list)
    statuses: dict[int, int] = field(default_factory=dict)  # what the readers (displays, pages) got
    flood_statuses: dict[int, int] = field(default_factory=dict)  # what the client_flood fault got
    images_checked: int = 0
    failures: list[BaseException] = field(default_factory=list)  # the observer's own: they fail the run
    lock: threading.Lock = field(default_factory=threading.Lock)

    def now(self) -> float:
        """Seconds since the run began."""
        return time.monotonic() - self.t0

    def saw(self, stream: str, title: str) -> None:
        """Note a title a reader shows, when it is one of the campaign's changes."""
        parsed = parse_title(title)
        if parsed is not None:
            with self.lock:
                self.seen.append(Seen(self.now(), stream, parsed[0], parsed[1]))

    def violate(self, invariant: int, detail: str) -> None:
        """Note a broken invariant now."""
        with self.lock:
            self.violations.append(Violation(self.now(), invariant, detail))

    def status(self, code: int, where: str, *, flood: bool = False) -> None:
        """Count an HTTP status; a 5xx other than the documented 503 breaks invariant 4."""
        with self.lock:
            counts = self.flood_statuses if flood else self.statuses
            counts[code] = counts.get(code, 0) + 1
        if code >= 500 and code not in ALLOWED_5XX:
            self.violate(4, f"{code} from {where}")


@dataclass(frozen=True)
class Endpoints:
    """Where the stack answers."""

    http_port: int
    redis_port: int
    redis_password: str = ""


def run_every(stop: threading.Event, interval_seconds: float, sample: Callable[[], None]) -> None:
    """Call `sample` every interval until `stop`."""
    while not stop.is_set():
        began = time.monotonic()
        sample()
        stop.wait(max(0.0, interval_seconds - (time.monotonic() - began)))


# --- Redis and HTTP state ----------------------------------------------------------------------


def watch_redis(record: Record, endpoints: Endpoints, zones: Sequence[str], stop: threading.Event) -> None:
    """Sample every zone hash's title 4 times a second (Redis away: no sample, no error)."""
    client = redis.Redis(
        port=endpoints.redis_port, password=endpoints.redis_password or None,
        socket_timeout=1, socket_connect_timeout=1, decode_responses=True,
    )  # fmt: skip

    def sample() -> None:
        try:
            with client.pipeline(transaction=False) as pipe:
                for zone in zones:
                    pipe.hget(f"sonos:zone:{zone}", "title")
                titles = pipe.execute()
        except redis.RedisError:
            return
        for title in titles:
            record.saw("redis", title or "")

    try:
        run_every(stop, 0.25, sample)
    finally:
        client.close()


def get(
    port: int, path: str, headers: dict[str, str] | None = None, timeout_seconds: float = 5
) -> tuple[int, dict[str, str], bytes]:
    """One GET on a fresh connection: (status, headers, body)."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout_seconds)
    try:
        connection.request("GET", path, headers=headers or {})
        response = connection.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        connection.close()


def watch_http(record: Record, endpoints: Endpoints, zones: Sequence[str], stop: threading.Event) -> None:
    """Ask `/api/zones/<zone>` twice a second for each zone (artwork away: no sample)."""

    def sample() -> None:
        for zone in zones:
            try:
                status, _, body = get(endpoints.http_port, f"/api/zones/{zone}", timeout_seconds=2)
            except (OSError, http.client.HTTPException):
                continue
            record.status(status, f"/api/zones/{zone}")
            if status == 200:
                record.saw("http", json.loads(body).get("title", ""))

    run_every(stop, 0.5, sample)


# --- readers of the product's own clients ------------------------------------------------------


def check_image(record: Record, body: bytes, size: tuple[int, int], where: str) -> None:
    """Invariant 2: a 200 image decodes completely, at its profile's size."""
    try:
        with Image.open(io.BytesIO(body)) as image:
            image.load()
            decoded = image.size
    except (OSError, SyntaxError, ValueError) as err:
        record.violate(2, f"{where}: {len(body)} bytes do not decode: {err}")
        return
    if decoded != size:
        record.violate(2, f"{where}: {decoded[0]}x{decoded[1]}, expected {size[0]}x{size[1]}")
    with record.lock:
        record.images_checked += 1


@dataclass(frozen=True)
class Panel:
    """A display on the wall: its room, the image it asks for and that image's size."""

    room: str
    image: str
    size: tuple[int, int]


def display_client(record: Record, endpoints: Endpoints, panel: Panel, stop: threading.Event) -> None:
    """A panel: wait-for-change with If-None-Match on its room's image, as display/ does."""
    etag = ""
    path = f"/zones/{panel.room}/{panel.image}"
    while not stop.is_set():
        headers = {"If-None-Match": etag} if etag else {}
        try:
            status, answer, body = get(endpoints.http_port, f"{path}?wait=20", headers, timeout_seconds=30)
        except (OSError, http.client.HTTPException):
            stop.wait(1)
            continue
        record.status(status, path)
        if status == 200:
            check_image(record, body, panel.size, path)
            etag = answer.get("etag", "")
        elif status != 304:
            stop.wait(1)


def event_stream(record: Record, endpoints: Endpoints, room: str, stop: threading.Event) -> None:
    """A kiosk page: the room's server-sent events, reconnecting as EventSource does."""
    while not stop.is_set():
        connection = http.client.HTTPConnection("127.0.0.1", endpoints.http_port, timeout=5)
        try:
            connection.request("GET", f"/api/zones/{room}/events", headers={"Accept": "text/event-stream"})
            response = connection.getresponse()
            record.status(response.status, f"/api/zones/{room}/events")
            while response.status == 200 and not stop.is_set():
                line = response.readline()
                if not line:
                    break
                if line.startswith(b"data:"):
                    record.saw(f"sse:{room}", json.loads(line[5:]).get("title", ""))
        except (OSError, http.client.HTTPException, ValueError):
            pass
        finally:
            connection.close()
        stop.wait(1)


def legacy_poller(record: Record, endpoints: Endpoints, name: str, stop: threading.Event) -> None:
    """The original Qualia loop: metadata.json and the 720x720 BMP every 2 s."""

    def sample() -> None:
        try:
            status, _, body = get(endpoints.http_port, "/metadata.json")
            record.status(status, "/metadata.json")
            if status == 200:
                record.saw(f"legacy:{name}", json.loads(body).get("title", ""))
            status, _, body = get(endpoints.http_port, "/Adafruit/artwork.bmp")
            record.status(status, "/Adafruit/artwork.bmp")
            if status == 200:
                check_image(record, body, (720, 720), "/Adafruit/artwork.bmp")
        except (OSError, http.client.HTTPException, ValueError):
            return

    run_every(stop, 2.0, sample)


# --- containers -----------------------------------------------------------------------------------


def docker(*args: str, timeout_seconds: float = 30) -> str:
    """A docker command's stdout; ObserverError when docker itself fails."""
    try:
        done = subprocess.run(
            ["docker", *args], capture_output=True, text=True, timeout=timeout_seconds, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as err:
        raise ObserverError(f"docker {args[0]}: {err}") from err
    if done.returncode != 0:
        raise ObserverError(f"docker {' '.join(args[:2])} failed: {done.stderr.strip()[-300:]}")
    return done.stdout


def watch_containers(record: Record, ids: dict[str, str], stop: threading.Event) -> None:
    """Health, restarts and OOM kills every second, from `docker inspect`."""
    restarts: dict[str, int] = {}
    ooms: dict[str, str] = {}

    def sample() -> None:
        documents: list[dict[str, Any]] = json.loads(docker("inspect", *ids.values()))
        now = record.now()
        healthy = {}
        for service, document in zip(ids, documents, strict=True):
            state = document["State"]
            health = state.get("Health", {}).get("Status", "healthy")
            healthy[service] = state["Status"] == "running" and health == "healthy"
            count = int(document["RestartCount"])
            if service in restarts and count > restarts[service]:
                record.restarts.append((now, service))
            restarts[service] = count
            if state.get("OOMKilled") and ooms.get(service) != state.get("StartedAt"):
                record.oom_kills.append((now, service))
                ooms[service] = state.get("StartedAt", "")
        record.health.append(Health(now, healthy))

    _guarded(record, stop, lambda: run_every(stop, 1.0, sample))


def watch_memory(
    record: Record, ids: dict[str, str], limits_mib: dict[str, float], excused: Callable[[str, float], bool],
    stop: threading.Event,
) -> None:  # fmt: skip
    """Memory and CPU of every container every 5 s (`docker stats`); invariant 6 on the way."""
    names = {container_id[:12]: service for service, container_id in ids.items()}

    def sample() -> None:
        out = docker("stats", "--no-stream", "--format", "{{json .}}", *ids.values())
        now = record.now()
        for line in out.splitlines():
            row = json.loads(line)
            service = names.get(row["ID"][:12])
            if service is None:
                continue
            used_mib = _mib(row["MemUsage"].split("/")[0])
            cpu = float(row["CPUPerc"].rstrip("%") or 0)
            record.memory.append((now, service, used_mib, cpu))
            limit = limits_mib.get(service, 0)
            if limit and used_mib > 0.97 * limit and not excused(service, now):
                record.violate(6, f"{service} at {used_mib:.0f} MiB of its {limit:.0f} MiB limit")

    _guarded(record, stop, lambda: run_every(stop, 5.0, sample))


VOLUME_SCRIPT = """
import os, sys, time
root = sys.argv[1]
cache = oldest = 0.0
now = time.time()
for folder, _, files in os.walk(root):
    for name in files:
        if name.startswith(".chaos"):
            continue
        try:
            stat = os.stat(os.path.join(folder, name))
        except OSError:
            continue
        cache += stat.st_size
        if os.path.basename(folder) == "tmp":
            oldest = max(oldest, now - stat.st_mtime)
print(cache, oldest)
"""


# What the LRU sweep allows past CACHE_MAX_MB: it runs once a tenth of the bound was written since
# the last one, between loop passes, while up to ZONE_WORKERS (4) zones render a change each (the
# default profiles write about 0.9 MiB a change).
SWEEP_SHARE = 0.1
RENDERS_IN_FLIGHT_MIB = 4 * 1.0


def cache_limit_mib(cache_max_mib: float) -> float:
    """The most the artwork cache may hold at a sample without breaking invariant 6."""
    return cache_max_mib * (1 + SWEEP_SHARE) + RENDERS_IN_FLIGHT_MIB


def watch_volume(
    record: Record, container: Callable[[], str], cache_max_mib: float, temp_max_age_seconds: float,
    stop: threading.Event,
) -> None:  # fmt: skip
    """The artwork volume's size and its oldest temp file every 20 s (invariant 6)."""

    def sample() -> None:
        try:
            out = docker("exec", container(), "python", "-c", VOLUME_SCRIPT, "/data/artwork")
        except ObserverError:
            return  # the container is restarting; the next sample sees the volume
        cache_bytes, oldest_seconds = (float(v) for v in out.split())
        record.volume.append((record.now(), cache_bytes / 2**20, oldest_seconds))
        if cache_bytes / 2**20 > cache_limit_mib(cache_max_mib):
            record.violate(
                6, f"the artwork cache holds {cache_bytes / 2**20:.0f} MiB, its bound is {cache_max_mib:.0f}"
            )
        if oldest_seconds > temp_max_age_seconds:
            record.violate(6, f"a temp file is {oldest_seconds:.0f} s old")

    run_every(stop, 20.0, sample)


def _mib(text: str) -> float:
    units = {
        "B": 1 / 2**20,
        "KiB": 1 / 1024,
        "MiB": 1.0,
        "GiB": 1024.0,
        "kB": 1e3 / 2**20,
        "MB": 1e6 / 2**20,
        "GB": 1e9 / 2**20,
    }
    text = text.strip()
    for unit in sorted(units, key=len, reverse=True):
        if text.endswith(unit):
            return float(text[: -len(unit)]) * units[unit]
    raise ObserverError(f"docker stats gave a memory figure I cannot read: {text!r}")


def _guarded(record: Record, stop: threading.Event, body: Callable[[], None]) -> None:
    """Run a watcher whose failure must end the run: note it and stop everything."""
    try:
        body()
    except (ObserverError, ValueError, KeyError) as err:
        record.failures.append(err)
        stop.set()
