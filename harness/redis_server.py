"""A real redis-server that the tests start, kill and restart themselves."""

from __future__ import annotations

import shutil
import subprocess
import time
from pathlib import Path

import redis

from harness.net import free_port


class RedisServer:
    """One redis-server process on a free loopback port, without persistence (like production)."""

    def __init__(self, workdir: Path) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            raise RuntimeError("redis-server is not installed (apt-get install redis-server)")
        self._binary = binary
        self._workdir = workdir
        self.port = free_port()
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """redis:// URL of database 0."""
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        """Start the server and wait until it answers PING."""
        self._workdir.mkdir(parents=True, exist_ok=True)
        self._process = subprocess.Popen(
            [
                self._binary,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self._workdir),
                "--logfile",
                str(self._workdir / "redis.log"),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        client = redis.Redis.from_url(self.url, socket_timeout=1, retry=None)
        deadline = time.monotonic() + 10
        try:
            while not self._answers(client):
                if time.monotonic() > deadline:
                    raise RuntimeError(f"redis-server on port {self.port} did not start")
                time.sleep(0.02)
        finally:
            client.close()

    @property
    def running(self) -> bool:
        """Whether the process is up (it may still be starting)."""
        return self._process is not None and self._process.poll() is None

    @staticmethod
    def _answers(client: redis.Redis) -> bool:
        try:
            return bool(client.ping())
        except redis.ConnectionError:
            return False

    def stop(self) -> None:
        """Kill the server at once, as a crash or container restart would."""
        if self._process is not None:
            self._process.kill()
            self._process.wait(timeout=10)
            self._process = None

    def restart(self, down_seconds: float = 0.0) -> None:
        """Kill, stay down for a while, and start again on the same port with no data."""
        self.stop()
        time.sleep(down_seconds)
        self.start()
