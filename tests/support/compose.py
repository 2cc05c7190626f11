"""A real compose stack of this repository, for end-to-end tests on a real Docker engine."""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]


def engine_unavailable_reason() -> str | None:
    """Why no compose test can run here, or None when a Docker engine with Compose v2 answers."""
    if shutil.which("docker") is None:
        return "no docker client on PATH (CI starts one with shared/ci/docker-engine.sh)"
    info = subprocess.run(["docker", "info"], capture_output=True, text=True, timeout=30, check=False)
    if info.returncode != 0:
        return f"no Docker engine answers: {info.stderr.strip().splitlines()[-1:] or info.stdout[-200:]}"
    version = subprocess.run(["docker", "compose", "version"], capture_output=True, timeout=30, check=False)
    if version.returncode != 0:
        return "the Docker Compose v2 plugin is missing"
    return None


@dataclass
class ComposeStack:
    """One compose project, isolated by name and host ports."""

    project: str
    env: dict[str, str]

    def run(
        self, *args: str, timeout_seconds: float = 120, check: bool = True
    ) -> subprocess.CompletedProcess[str]:
        """`docker compose -p <project> --profile demo <args>` in the repository."""
        return subprocess.run(
            ["docker", "compose", "-p", self.project, "--profile", "demo", *args],
            cwd=REPO_ROOT,
            env={**os.environ, **self.env},
            capture_output=True,
            text=True,
            timeout=timeout_seconds,
            check=check,
        )

    def up(self) -> None:
        """Build and start every service and wait until all are healthy."""
        result = self.run(
            "up", "-d", "--build", "--wait", "--wait-timeout", "300", timeout_seconds=900, check=False
        )
        if result.returncode != 0:
            raise RuntimeError(
                f"compose up failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}\n{self.logs()}"
            )

    def logs(self) -> str:
        """The last lines of every service's log, for failure messages."""
        return self.run("logs", "--no-color", "--tail", "60", check=False).stdout[-8000:]

    def down(self) -> None:
        """Remove containers, networks and volumes, whatever state the stack is in."""
        self.run("down", "-v", "--remove-orphans", "--timeout", "15", timeout_seconds=180, check=False)
