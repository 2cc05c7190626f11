"""The poller as a real `python -m poller` process against fakesonos and a real redis-server."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any, cast

import redis

from fakesonos import Household
from fakesonos.covers import generated_cover
from fakesonos.model import Track
from harness.processes import ServiceProcess, service_env
from harness.waiting import wait_for


class PollerRunner:
    """Starts pollers for a test and always stops them."""

    def __init__(self, redis_url: str, artwork_dir: Path, workdir: Path, mode: str = "events") -> None:
        self.mode = mode  # "events" (SONOS_EVENTS=on) or "polling" (off)
        self.redis_url = redis_url
        self.artwork_dir = artwork_dir
        self.workdir = workdir
        self.started: list[ServiceProcess] = []

    def start(self, household: Household, **env: str) -> ServiceProcess:
        """A poller seeded with every speaker of household; env overrides settings."""
        settings = {
            "REDIS_URL": self.redis_url,
            "ARTWORK_DIR": str(self.artwork_dir),
            "SONOS_SPEAKERS": ",".join(s.ip for s in household.speakers),
            "POLL_INTERVAL_SECONDS": "1",
            "SONOS_EVENTS": "on" if self.mode == "events" else "off",
            "POLLER_HEARTBEAT_FILE": str(self.workdir / "heartbeat"),
            **env,
        }
        process = ServiceProcess(
            "poller", service_env(**settings), self.workdir / f"poller-{len(self.started)}.log"
        )
        self.started.append(process)
        return process

    def close(self) -> None:
        """Stop every poller this runner started."""
        for process in self.started:
            process.close()


def track(title: str, *, cover: bool = True, artist: str = "The Artist") -> Track:
    """A library track with a generated cover (or none)."""
    return Track(title, artist, "The Album", cover=generated_cover(title, artist) if cover else None)


def zone_hash(client: redis.Redis, zone: str) -> dict[str, str]:
    """The zone's hash as stored by the poller."""
    return cast(dict[str, str], client.hgetall(f"sonos:zone:{zone}"))


def stream_entries(client: redis.Redis, after_id: str = "0") -> list[tuple[str, dict[str, str]]]:
    """Events-stream entries after an id."""
    return cast(list[tuple[str, dict[str, str]]], client.xrange("sonos:events", min=f"({after_id}"))


def heartbeat(client: redis.Redis) -> dict[str, Any] | None:
    """The poller's heartbeat, decoded."""
    raw = cast(str | None, client.get("sonos:poller"))
    return json.loads(raw) if raw else None


def wait_for_zone(
    client: redis.Redis,
    zone: str,
    poller: ServiceProcess,
    *,
    timeout_seconds: float,
    condition: Callable[[dict[str, str]], bool],
    what: str,
) -> dict[str, str]:
    """The zone's hash once condition holds; fails with the poller's log."""

    def probe() -> dict[str, str] | None:
        state = zone_hash(client, zone)
        return state if state and condition(state) else None

    return wait_for(probe, timeout_seconds, what=lambda: f"{what}; poller log:\n{poller.output()}")


def wait_for_title(
    client: redis.Redis, zone: str, title: str, poller: ServiceProcess, timeout_seconds: float
) -> dict[str, str]:
    """The zone's hash once it shows title."""
    return wait_for_zone(
        client,
        zone,
        poller,
        timeout_seconds=timeout_seconds,
        condition=lambda z: z.get("title") == title,
        what=f"title {title!r} in {zone}",
    )
