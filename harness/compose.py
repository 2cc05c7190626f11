"""A real compose stack of this repository, for end-to-end tests on a real Docker engine."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[1]
COMPOSE_FILE = "docker-compose.yml"
BRIDGE_FILE = "docker-compose.bridge.yml"
# Settings of the caller's shell that would change what compose does; a test stack sees only its own.
_FOREIGN_PREFIXES = ("COMPOSE_", "DOCKER_DEFAULT_PLATFORM")


def engine_unavailable_reason() -> str | None:
    """Why no compose test can run here, or None when a Docker engine with Compose v2 answers."""
    if shutil.which("docker") is None:
        return "no docker client on PATH (CI starts an engine with shared/ci/docker-engine.sh)"
    info = subprocess.run(["docker", "info"], capture_output=True, text=True, timeout=30, check=False)
    if info.returncode != 0:
        last = (info.stderr.strip().splitlines() or [info.stdout[-200:]])[-1]
        return f"no Docker engine answers `docker info`: {last}"
    version = subprocess.run(["docker", "compose", "version"], capture_output=True, timeout=30, check=False)
    if version.returncode != 0:
        return "the Docker Compose v2 plugin is missing (`docker compose version` fails)"
    return None


def compose_cli_unavailable_reason() -> str | None:
    """Why `docker compose config` cannot run here (it needs the CLI plugin, not an engine)."""
    if shutil.which("docker") is None:
        return "no docker client on PATH"
    version = subprocess.run(["docker", "compose", "version"], capture_output=True, timeout=30, check=False)
    if version.returncode != 0:
        return "the Docker Compose v2 plugin is missing (`docker compose version` fails)"
    return None


@dataclass
class ComposeStack:
    """One compose project, isolated by name, host ports and its own settings file.

    `env` is written to a settings file that compose reads both for interpolation (`--env-file`)
    and as every service's `env_file` (`ENV_FILE`), so a developer's `.env` never leaks in.
    """

    project: str
    env: dict[str, str]
    files: Sequence[str] = (COMPOSE_FILE,)
    workdir: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="sonosart-e2e-")))

    def __post_init__(self) -> None:
        self.env_file = self.workdir / "stack.env"
        self.env_file.write_text("".join(f"{key}={value}\n" for key, value in self.env.items()))

    def update_env(self, **values: str) -> None:
        """Change settings for the following compose commands (containers change only when recreated)."""
        self.env.update(values)
        self.__post_init__()

    def _environ(self) -> dict[str, str]:
        environ = {k: v for k, v in os.environ.items() if not k.startswith(_FOREIGN_PREFIXES)}
        return {**environ, **self.env, "ENV_FILE": str(self.env_file)}

    def command(self, *args: str) -> list[str]:
        """The `docker compose` command line for this project."""
        files = [arg for name in self.files for arg in ("-f", str(REPO_ROOT / name))]
        return [
            "docker", "compose", "-p", self.project, *files,
            "--env-file", str(self.env_file), "--profile", "demo", *args,
        ]  # fmt: skip

    def run(
        self, *args: str, timeout_seconds: float = 120, check: bool = True
    ) -> subprocess.CompletedProcess[str]:
        """`docker compose -p <project> ... <args>` in the repository."""
        return subprocess.run(
            self.command(*args),
            cwd=REPO_ROOT,
            env=self._environ(),
            capture_output=True,
            text=True,
            timeout=timeout_seconds,
            check=check,
        )

    def up(self, *services: str, wait_timeout_seconds: int = 300) -> None:
        """Build and start the services (all by default) and wait until they are healthy."""
        result = self.run(
            "up", "-d", "--build", "--wait", "--wait-timeout", str(wait_timeout_seconds), *services,
            timeout_seconds=wait_timeout_seconds + 600, check=False,
        )  # fmt: skip
        if result.returncode != 0:
            raise RuntimeError(
                f"compose up failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}\n{self.logs()}"
            )

    def logs(self, *services: str, tail: int = 60) -> str:
        """The last lines of the services' logs (all by default), for assertions and failure messages."""
        result = self.run("logs", "--no-color", "--tail", str(tail), *services, check=False)
        return result.stdout[-12000:]

    def down(self) -> None:
        """Remove containers, networks and volumes, whatever state the stack is in."""
        self.run("down", "-v", "--remove-orphans", "--timeout", "15", timeout_seconds=180, check=False)
        shutil.rmtree(self.workdir, ignore_errors=True)

    # --- containers -----------------------------------------------------------------------------

    def container_id(self, service: str) -> str:
        """The id of the service's (single) container, running or not."""
        ids = self.run("ps", "-a", "-q", service).stdout.split()
        if len(ids) != 1:
            raise AssertionError(f"expected one container for {service}, got {ids}")
        return ids[0]

    def inspect(self, service: str) -> dict[str, Any]:
        """`docker inspect` of the service's container."""
        out = subprocess.run(
            ["docker", "inspect", self.container_id(service)],
            capture_output=True, text=True, timeout=30, check=True,
        ).stdout  # fmt: skip
        document: list[dict[str, Any]] = json.loads(out)
        return document[0]

    def health(self) -> dict[str, str]:
        """Service name -> health ("healthy", "starting", ...) of every running container."""
        lines = self.run("ps", "--format", "json").stdout.splitlines()
        rows: list[dict[str, Any]] = []
        for line in lines:
            parsed = json.loads(line)
            rows.extend(parsed if isinstance(parsed, list) else [parsed])
        return {row["Service"]: row.get("Health") or row.get("State", "") for row in rows}

    def exec(self, service: str, *command: str, timeout_seconds: float = 60) -> str:
        """Run a command in the service's container; its stdout."""
        return self.run("exec", "-T", service, *command, timeout_seconds=timeout_seconds).stdout

    # --- redis --------------------------------------------------------------------------------

    def redis_cli(self, *args: str) -> str:
        """redis-cli inside the redis container, authenticated when REDIS_PASSWORD is set."""
        script = '[ -z "$REDIS_PASSWORD" ] || export REDISCLI_AUTH="$REDIS_PASSWORD"; exec redis-cli "$@"'
        return self.exec("redis", "sh", "-c", script, "redis-cli", *args)

    def redis_json(self, key: str) -> dict[str, Any] | None:
        """A JSON string value (the poller's heartbeat), or None when the key is missing."""
        out = self.redis_cli("--raw", "GET", key).strip()
        return json.loads(out) if out else None

    def redis_hash(self, key: str) -> dict[str, str]:
        """A hash, field -> value (values are one line each in the contract)."""
        out = self.redis_cli("--no-raw", "HGETALL", key)
        items = [json.loads(line.split(") ", 1)[1]) for line in out.splitlines() if ") " in line]
        return dict(zip(items[::2], items[1::2], strict=True))

    # --- memory ---------------------------------------------------------------------------------

    def memory_limit_bytes(self, service: str) -> int:
        """The container's memory limit as the engine applied it (0: none)."""
        return int(self.inspect(service)["HostConfig"]["Memory"])

    def peak_memory_bytes(self, service: str) -> int:
        """Highest memory use of the container's cgroup since it started (v2 memory.peak, v1 max_usage)."""
        script = (
            "cat /sys/fs/cgroup/memory.peak 2>/dev/null"
            " || cat /sys/fs/cgroup/memory/memory.max_usage_in_bytes"
        )
        return int(self.exec(service, "sh", "-c", script).strip())

    def memory_breakdown(self, service: str) -> dict[str, int]:
        """rss/cache (v1) or anon/file (v2) of the container now, in bytes."""
        script = "cat /sys/fs/cgroup/memory.stat 2>/dev/null || cat /sys/fs/cgroup/memory/memory.stat"
        stat = dict(line.split() for line in self.exec(service, "sh", "-c", script).splitlines())
        keys = ("rss", "cache", "anon", "file", "total_rss", "total_cache")
        return {key: int(value) for key, value in stat.items() if key in keys}

    def anon_memory_bytes(self, service: str) -> int:
        """Memory the container's processes hold now, page cache excluded (v1 total_rss, v2 anon)."""
        return _anon_bytes(_memory_stat_text(self, service))

    def process_peak_rss_bytes(self, service: str) -> int:
        """Sum of the peak RSS (VmHWM) of the container's live processes."""
        out = self.exec(service, "sh", "-c", "cat /proc/[0-9]*/status 2>/dev/null | grep '^VmHWM:' || true")
        return sum(int(line.split()[1]) * 1024 for line in out.splitlines() if line.strip())

    def events(self, since: float, *filters: str) -> list[dict[str, Any]]:
        """`docker events` of this project between `since` and now."""
        args = ["--filter", f"label=com.docker.compose.project={self.project}"]
        for item in filters:
            args += ["--filter", item]
        out = subprocess.run(
            ["docker", "events", "--since", f"{since:.3f}", "--until", f"{time.time() + 1:.3f}",
             "--format", "{{json .}}", *args],
            capture_output=True, text=True, timeout=60, check=True,
        ).stdout  # fmt: skip
        return [json.loads(line) for line in out.splitlines() if line.strip()]


@contextmanager
def running_stack(stack: ComposeStack, *services: str) -> Iterator[ComposeStack]:
    """Bring the stack up (all services by default) and always tear it down with its volumes."""
    try:
        stack.up(*services)
        yield stack
    finally:
        stack.down()


def _anon_bytes(stat_text: str) -> int:
    stat = dict(line.split()[:2] for line in stat_text.splitlines() if len(line.split()) >= 2)
    for key in ("total_rss", "anon", "rss"):
        if key in stat:
            return int(stat[key])
    raise AssertionError(f"no rss/anon in memory.stat: {stat_text[:300]}")


def _host_memory_stat(pid: int) -> Path | None:
    """The container's memory.stat as the host sees it, when this process can read it."""
    try:
        lines = Path(f"/proc/{pid}/cgroup").read_text().splitlines()
    except OSError:
        return None
    for line in lines:
        _, controllers, path = line.split(":", 2)
        if "memory" in controllers.split(","):
            candidate = Path("/sys/fs/cgroup/memory") / path.lstrip("/") / "memory.stat"
        elif controllers == "":
            candidate = Path("/sys/fs/cgroup") / path.lstrip("/") / "memory.stat"
        else:
            continue
        if candidate.is_file():
            return candidate
    return None


def _memory_stat_text(stack: ComposeStack, service: str) -> str:
    script = "cat /sys/fs/cgroup/memory.stat 2>/dev/null || cat /sys/fs/cgroup/memory/memory.stat"
    return stack.exec(service, "sh", "-c", script)


class MemorySampler:
    """Samples a container's anonymous memory (its RSS, page cache excluded) until stopped; keeps the peak.

    Reads the cgroup from the host when the engine is local, else through `docker exec`.
    """

    def __init__(self, stack: ComposeStack, service: str, interval_seconds: float = 0.25) -> None:
        self._stack = stack
        self._service = service
        self._interval = interval_seconds
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"memory-{service}", daemon=True)
        self.peak_bytes = 0
        self.samples = 0

    def _read(self, host_stat: Path | None) -> int:
        if host_stat is not None:
            try:
                return _anon_bytes(host_stat.read_text())
            except OSError:
                pass
        return self._stack.anon_memory_bytes(self._service)

    def _run(self) -> None:
        pid = int(self._stack.inspect(self._service)["State"]["Pid"])
        host_stat = _host_memory_stat(pid)
        while True:
            try:
                self.peak_bytes = max(self.peak_bytes, self._read(host_stat))
                self.samples += 1
            except (OSError, subprocess.SubprocessError, AssertionError):
                pass  # a sample lost while the container restarts
            if self._stop.wait(self._interval):
                return

    def __enter__(self) -> MemorySampler:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=30)
