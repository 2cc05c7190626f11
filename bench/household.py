"""The emulated household, a real redis-server and real `python -m poller` processes, for benchmarks."""

from __future__ import annotations

import itertools
import json
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import redis

from bench.common import Stack
from fakesonos import Household
from fakesonos.covers import cover_jpeg
from fakesonos.model import Cover, Track
from harness.fakesonos import reset_soco, start_household
from harness.net import free_port
from harness.poller import PollerRunner
from harness.processes import ServiceProcess
from harness.redis_server import RedisServer
from harness.waiting import wait_for

STREAM = "sonos:events"
_ip_blocks = itertools.count(200)


def bench_ips() -> Iterator[str]:
    """Fresh loopback addresses in 127.0.200+.x, apart from the tests' 127.0.1-16.x."""
    third = next(_ip_blocks)
    for n in range(2, 250):
        yield f"127.0.{third}.{n}"


def unique_cover(base: bytes, n: int) -> Cover:
    """A cover with distinct bytes (a JPEG comment after SOI) at no rendering cost: new art to the poller."""
    text = f"bench cover {n}".encode()
    comment = b"\xff\xfe" + (len(text) + 2).to_bytes(2, "big") + text
    return Cover(base[:2] + comment + base[2:], "image/jpeg")


def base_cover(size: int, seed: str = "bench") -> bytes:
    """A generated cover of size² pixels."""
    return cover_jpeg(f"Bench {seed}", "Benchmark", seed, size)


@dataclass
class PollerStack:
    """Redis, a household and the pollers started on it; closed by the owning Stack."""

    stack: Stack
    redis_server: RedisServer
    client: redis.Redis
    artwork_dir: Path
    household: Household
    runner: PollerRunner
    pollers: list[ServiceProcess] = field(default_factory=list)

    def start_poller(self, mode: str, **env: str) -> ServiceProcess:
        """`python -m poller` seeded with every speaker; events listener on a free port."""
        self.runner.mode = mode
        settings = {
            "POLL_INTERVAL_SECONDS": "2",
            "EVENT_LISTENER_PORT": str(free_port()),
            "LOG_LEVEL": "WARNING",
        }
        process = self.runner.start(self.household, **{**settings, **env})
        self.pollers.append(process)
        return process

    def wait_for_zones(
        self, zone_ids: Sequence[str], poller: ServiceProcess, timeout_seconds: float = 60
    ) -> None:
        """Until every zone has a published state and the heartbeat says so."""

        def ready() -> bool:
            if poller.process.poll() is not None:
                raise RuntimeError(f"poller exited:\n{poller.output()[-3000:]}")
            return all(self.client.exists(f"sonos:zone:{z}") for z in zone_ids)

        wait_for(ready, timeout_seconds, interval_seconds=0.1, what=f"zones {', '.join(zone_ids)}")

    def wait_for_mode(self, mode: str, poller: ServiceProcess, timeout_seconds: float = 30) -> None:
        """Until the heartbeat reports every zone in mode (`events`)."""

        def probe() -> bool:
            raw = cast(str | None, self.client.get("sonos:poller"))
            return bool(raw) and json.loads(raw or "{}").get("mode") == mode

        wait_for(
            probe,
            timeout_seconds,
            interval_seconds=0.1,
            what=lambda: f"poller mode {mode}:\n{poller.output()[-2000:]}",
        )

    def last_id(self) -> str:
        """The newest stream entry id, or 0-0."""
        entries = cast(list[Any], self.client.xrevrange(STREAM, count=1))
        return str(entries[0][0]) if entries else "0-0"

    def images_on_disk(self, entry: dict[str, str]) -> bool:
        """Whether every image an entry names is a file under the artwork dir."""
        images = json.loads(entry.get("images") or "{}")
        return bool(images) and all((self.artwork_dir / path).is_file() for path in images.values())


def poller_stack(stack: Stack, rooms: Sequence[str]) -> PollerStack:
    """Start redis and a household with one speaker per room; everything stops with the stack."""
    redis_server = RedisServer(stack.tmp / "redis")
    redis_server.start()
    stack.callback(redis_server.stop)
    client = redis.Redis.from_url(redis_server.url, decode_responses=True, socket_timeout=10)
    stack.callback(client.close)
    reset_soco()
    ips = bench_ips()
    household = start_household(lambda: next(ips), rooms)
    stack.callback(household.stop)
    artwork_dir = stack.tmp / "artwork"
    artwork_dir.mkdir()
    runner = PollerRunner(redis_server.url, artwork_dir, stack.tmp, mode="events")
    stack.callback(runner.close)
    return PollerStack(stack, redis_server, client, artwork_dir, household, runner)


class StreamWatcher:
    """Reads the events stream in a thread and records when each (zone, title) entry arrived."""

    def __init__(self, redis_url: str, after_id: str) -> None:
        self._client = redis.Redis.from_url(redis_url, decode_responses=True, socket_timeout=10)
        self._last = after_id
        self._stop = threading.Event()
        self.arrivals: dict[tuple[str, str], tuple[float, dict[str, str]]] = {}
        self.entries = 0
        self._lock = threading.Condition()
        self._thread = threading.Thread(target=self._run, name="bench-stream", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            reply = cast(Any, self._client.xread({STREAM: self._last}, block=500, count=500))
            now = time.monotonic()
            for _stream, items in reply or []:
                for entry_id, fields in items:
                    self._last = entry_id
                    self.entries += 1
                    key = (fields.get("zone", ""), fields.get("title", ""))
                    with self._lock:
                        self.arrivals.setdefault(key, (now, fields))
                        self._lock.notify_all()

    def wait(self, zone: str, title: str, timeout_seconds: float) -> tuple[float, dict[str, str]] | None:
        """Arrival time and fields of the entry for (zone, title), waiting up to the timeout."""
        deadline = time.monotonic() + timeout_seconds
        with self._lock:
            while (zone, title) not in self.arrivals:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return None
                self._lock.wait(remaining)
            return self.arrivals[(zone, title)]

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self._client.close()


def track(title: str, cover: Cover | None) -> Track:
    """A library track."""
    return Track(title, "Benchmark", "Bench Album", cover=cover)
