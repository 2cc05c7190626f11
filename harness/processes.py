"""Run the project's services as real subprocesses, the way their containers do."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
SERVICE_PATHS = [REPO_ROOT / "services" / name for name in ("contract", "poller", "artwork", "fakesonos")]


def service_env(**overrides: str) -> dict[str, str]:
    """The current environment with the services importable and the given keys set."""
    env = {**os.environ, **overrides}
    env["PYTHONPATH"] = os.pathsep.join(str(p) for p in SERVICE_PATHS)
    return env


class ServiceProcess:
    """`python -m <module>` with captured output; always stopped by `close()`."""

    def __init__(self, module: str, env: dict[str, str], log_path: Path) -> None:
        self.log_path = log_path
        self._log = log_path.open("wb")
        self.process = subprocess.Popen(
            [sys.executable, "-m", module], env=env, cwd=REPO_ROOT, stdout=self._log, stderr=subprocess.STDOUT
        )

    def output(self) -> str:
        """Everything the process printed so far."""
        self._log.flush()
        return self.log_path.read_text(errors="replace")

    def terminate(self, timeout_seconds: float = 10) -> int:
        """SIGTERM and wait; returns the exit code."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=timeout_seconds)

    def close(self) -> None:
        """Stop it whatever state it is in."""
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)
        self._log.close()
