"""A real gunicorn running the artwork service, plus helpers to seed its volume and Redis."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil
import redis
from PIL import Image
from prometheus_client.parser import text_string_to_metric_families

from contract.layout import ArtName, rendition_name
from contract.profiles import Profile
from contract.redis_keys import RedisKeys
from contract.zone import EventType, Member, Source, TransportState, ZoneState
from harness.net import free_port
from harness.redis_server import RedisServer
from harness.waiting import wait_for
from poller.publisher import RedisPublisher

REPO_ROOT = Path(__file__).resolve().parents[1]
GUNICORN_CONF = REPO_ROOT / "services" / "artwork" / "gunicorn.conf.py"
_SERVICE_PATH = os.pathsep.join(str(REPO_ROOT / "services" / name) for name in ("contract", "artwork"))
# Keys a developer's shell might export that would change the server under test.
_OWN_KEY_PREFIXES = (
    "ARTWORK_",
    "REDIS_",
    "LOG_",
    "DEFAULT_ZONE",
    "SENDFILE",
    "GUNICORN_CMD_ARGS",
    "PROMETHEUS_",
)
_STOP_TIMEOUT_SECONDS = 15.0
_HTTP_TIMEOUT_SECONDS = 5.0


@dataclass(frozen=True)
class Reply:
    """One HTTP response exactly as it came off the wire."""

    status: int
    headers: Mapping[str, str]  # lower-case names
    body: bytes


def http_request(
    port: int, path: str, method: str = "GET", headers: Mapping[str, str] | None = None
) -> Reply:
    """Send one request with the path byte for byte as given (nothing normalises it); read to EOF."""
    lines = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1", "Connection: close"]
    lines += [f"{name}: {value}" for name, value in (headers or {}).items()]
    request = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
    with socket.create_connection(("127.0.0.1", port), timeout=_HTTP_TIMEOUT_SECONDS) as sock:
        sock.sendall(request)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    return _parse_reply(b"".join(chunks))


def _parse_reply(raw: bytes) -> Reply:
    head, _, body = raw.partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in header_lines:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return Reply(status=int(status_line.split()[1]), headers=headers, body=body)


@dataclass
class ArtworkServer:
    """A running gunicorn serving the artwork app."""

    port: int
    artwork_dir: Path
    log_path: Path
    process: subprocess.Popen[bytes] = field(repr=False)

    def stop(self, timeout_seconds: float = _STOP_TIMEOUT_SECONDS) -> int:
        """SIGTERM, as Docker stops it; the exit code (the context then has nothing left to stop)."""
        self.process.send_signal(signal.SIGTERM)
        self.stopped = True
        return self.process.wait(timeout_seconds)

    stopped: bool = field(default=False, init=False)

    def request(self, path: str, method: str = "GET", headers: Mapping[str, str] | None = None) -> Reply:
        """One raw HTTP request to this server."""
        return http_request(self.port, path, method, headers)

    def log_tail(self, max_chars: int = 4000) -> str:
        """The end of gunicorn's combined output, for failure messages."""
        return self.log_path.read_text(errors="replace")[-max_chars:]


def server_env(
    artwork_dir: Path, redis_url: str, port: int, extra: Mapping[str, str] | None = None
) -> dict[str, str]:
    """This test's settings, and nothing inherited that could change them."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(_OWN_KEY_PREFIXES)}
    env.update(
        {
            "ARTWORK_PORT": str(port),
            "ARTWORK_DIR": str(artwork_dir),
            "REDIS_URL": redis_url,
            "ARTWORK_WORKERS": "2",
            "PYTHONPATH": _SERVICE_PATH,
            "PYTHONDONTWRITEBYTECODE": "1",
        }
    )
    env.update(extra or {})
    return env


def gunicorn_command() -> list[str]:
    """gunicorn from this interpreter's environment, configured only by the service's config file."""
    return [sys.executable, "-m", "gunicorn", "-c", str(GUNICORN_CONF)]


@contextmanager
def running_artwork(
    *,
    artwork_dir: Path,
    redis_url: str,
    log_path: Path,
    extra_env: Mapping[str, str] | None = None,
    startup_timeout_seconds: float = 20.0,
) -> Iterator[ArtworkServer]:
    """Start gunicorn, wait for /healthz, and always stop it; fail if SIGTERM does not end it cleanly."""
    port = free_port()
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            gunicorn_command(),
            cwd=REPO_ROOT,
            env=server_env(artwork_dir, redis_url, port, extra_env),
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    server = ArtworkServer(port=port, artwork_dir=artwork_dir, log_path=log_path, process=process)
    try:
        wait_for(lambda: _healthy(server), startup_timeout_seconds, what="gunicorn to answer /healthz")
        yield server
    finally:
        _stop(server)


def _healthy(server: ArtworkServer) -> bool:
    if server.process.poll() is not None:
        raise AssertionError(f"gunicorn exited with {server.process.returncode}:\n{server.log_tail()}")
    try:
        return server.request("/healthz").status == 200
    except OSError:
        return False


def _stop(server: ArtworkServer) -> None:
    process = server.process
    if server.stopped:
        return
    if process.poll() is not None:
        raise AssertionError(f"gunicorn died early with {process.returncode}:\n{server.log_tail()}")
    process.send_signal(signal.SIGTERM)
    try:
        returncode = process.wait(timeout=_STOP_TIMEOUT_SECONDS)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
        raise AssertionError(
            f"gunicorn ignored SIGTERM for {_STOP_TIMEOUT_SECONDS}s:\n{server.log_tail()}"
        ) from None
    if returncode != 0:
        raise AssertionError(f"gunicorn exited with {returncode} on SIGTERM:\n{server.log_tail()}")


# --- seeding: real files on the volume and real hashes in Redis, as the poller writes them ---


def write_rendition(artwork_dir: Path, profile: Profile, source_id: str = "source-1") -> ArtName:
    """Render a small real image for a profile at its content-addressed place; returns its name."""
    name = rendition_name(source_id, profile)
    path = artwork_dir / name.relpath
    path.parent.mkdir(parents=True, exist_ok=True)
    colour = tuple(source_id.encode()[:3].ljust(3, b"\x80"))
    with Image.new("RGB", (32, 32), colour) as image:
        if profile.format == "bmp":
            with image.convert("P", palette=Image.Palette.ADAPTIVE, colors=profile.colors or 256) as indexed:
                indexed.save(path, "BMP")
        else:
            image.save(path, profile.format.upper())
    return name


def make_zone(zone_id: str, images: Mapping[str, ArtName] | None = None, **fields: Any) -> ZoneState:
    """A playing zone whose images point at the given renditions."""
    base = ZoneState(
        zone_id=zone_id,
        name=zone_id.replace("-", " ").title(),
        coordinator_uid=f"RINCON_{zone_id.upper().replace('-', '')}01400",
        members=(Member(uid="RINCON_A", name="Speaker A"),),
        state=TransportState.PLAYING,
        source=Source.LIBRARY,
        title="Blue in Green",
        artist="Miles Davis",
        album="Kind of Blue",
        images={profile: name.relpath for profile, name in (images or {}).items()},
        version=7,
        updated_at_ms=1_764_000_000_000,
    )
    return base.with_changes(**fields)


def seed_zone(redis_url: str, zone: ZoneState, prefix: str = "sonos") -> None:
    """Write a zone exactly as the poller does: set, hash, stream and change channel in one transaction."""
    client = redis.Redis.from_url(redis_url, decode_responses=True, socket_timeout=2, retry=None)
    try:
        RedisPublisher(client, RedisKeys(prefix)).publish(zone, EventType.TRACK)
    finally:
        client.close()


def seed_raw_zone(redis_url: str, zone_id: str, fields: Mapping[str, str], prefix: str = "sonos") -> None:
    """Write a zone hash that need not follow the contract, and announce it as the poller would."""
    keys = RedisKeys(prefix)
    client = redis.Redis.from_url(redis_url, socket_timeout=2, retry=None)
    try:
        pipe = client.pipeline(transaction=True)
        pipe.sadd(keys.zones, zone_id)
        pipe.hset(keys.zone(zone_id), items=[part for pair in fields.items() for part in pair])
        pipe.publish(keys.changes, json.dumps({"id": zone_id}))
        pipe.execute()
    finally:
        client.close()


# --- reading the service's own numbers --------------------------------------------------------------


def metric_samples(server: ArtworkServer) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    """Every sample of /metrics, keyed by sample name and labels."""
    return metric_samples_at(server.port)


def metric_samples_at(port: int) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    """Every sample of the /metrics of the service on this port, keyed by sample name and labels."""
    reply = http_request(port, "/metrics")
    assert reply.status == 200, reply
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(reply.body.decode())
        for sample in family.samples
    }


def metric(
    samples: Mapping[tuple[str, frozenset[tuple[str, str]]], float], name: str, **labels: str
) -> float:
    """One sample's value; 0 when it has not been written yet."""
    return samples.get((name, frozenset(labels.items())), 0.0)


def worker_pids(server: ArtworkServer) -> list[int]:
    """Process ids of the master's live workers."""
    return sorted(child.pid for child in psutil.Process(server.process.pid).children())


@contextmanager
def artwork_in(
    redis_server: RedisServer, workdir: Path, extra_env: Mapping[str, str] | None = None
) -> Iterator[ArtworkServer]:
    """A gunicorn with an empty art volume under `workdir`, on that redis-server (started if stopped)."""
    if not redis_server.running:
        redis_server.start()
    artwork_dir = workdir / "artwork"
    (artwork_dir / "art").mkdir(parents=True)
    with running_artwork(
        artwork_dir=artwork_dir,
        redis_url=redis_server.url,
        log_path=workdir / "gunicorn.log",
        extra_env=extra_env,
    ) as running:
        yield running
