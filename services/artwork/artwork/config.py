"""Settings of the artwork service, read once from the environment."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from contract.env import Env
from contract.errors import ConfigError
from contract.profiles import Profile
from contract.settings import CommonSettings

# Redis calls get a slice of the request deadline: one request makes at most two round trips,
# each tried at most twice, each try bounded by a connect and a read timeout (8 slices in all).
_REDIS_TIMEOUT_SHARE = 1 / 10
_REDIS_TIMEOUT_CAP_SECONDS = 2.0


@dataclass(frozen=True)
class Settings(CommonSettings):
    """Everything the artwork app is configured with."""

    timeout_seconds: float = 30.0
    # How long a client may take to send a complete request head, and to accept each write.
    read_timeout_seconds: float = 5.0
    # Wait-for-change (`?wait=`): its cap, and how many held requests one worker keeps.
    max_wait_seconds: float = 30.0
    max_waiters: int = 64

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> Settings:
        """Read and validate every key; a bad value raises `ConfigError` naming the key."""
        env = Env(environ)
        return cls(
            **cls.common_from_env(env),
            timeout_seconds=env.number(
                "ARTWORK_TIMEOUT_SECONDS", cls.timeout_seconds, minimum=1, maximum=600
            ),
            read_timeout_seconds=env.number(
                "ARTWORK_READ_TIMEOUT_SECONDS", cls.read_timeout_seconds, minimum=0.5, maximum=60
            ),
            max_wait_seconds=env.number(
                "ARTWORK_MAX_WAIT_SECONDS", cls.max_wait_seconds, minimum=0, maximum=3600
            ),
            max_waiters=env.integer("ARTWORK_MAX_WAITERS", cls.max_waiters, minimum=0, maximum=4096),
        )

    def profile(self, name: str) -> Profile | None:
        """The configured profile of that name, if any."""
        return next((p for p in self.profiles if p.name == name), None)

    @property
    def redis_timeout_seconds(self) -> float:
        """Connect and read timeout of one Redis call, small enough to keep the request deadline."""
        return min(_REDIS_TIMEOUT_CAP_SECONDS, self.timeout_seconds * _REDIS_TIMEOUT_SHARE)


@dataclass(frozen=True)
class ServerSettings:
    """The gunicorn side: port, workers, threads and the connection cap, plus the app's settings."""

    app: Settings = Settings()
    port: int = 8000
    workers: int = 2
    threads: int = 4
    max_connections: int = 10

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> ServerSettings:
        """Read and validate every key of the service; a bad value raises `ConfigError` naming the key."""
        env = Env(environ)
        threads = env.integer("ARTWORK_THREADS", cls.threads, minimum=1, maximum=64)
        max_connections = env.integer("ARTWORK_MAX_CONNECTIONS", cls.max_connections, minimum=1, maximum=1000)
        if max_connections <= threads:
            # No more requests under way than threads would leave threads no queue to take from,
            # and a burst of displays a 503 before any thread is even busy.
            raise ConfigError(
                f"ARTWORK_MAX_CONNECTIONS: {max_connections} must be greater than ARTWORK_THREADS ({threads})"
            )
        return cls(
            app=Settings.from_env(environ),
            port=env.integer("ARTWORK_PORT", cls.port, minimum=1, maximum=65535),
            workers=env.integer("ARTWORK_WORKERS", cls.workers, minimum=1, maximum=32),
            threads=threads,
            max_connections=max_connections,
        )


# The server settings gunicorn.conf.py parsed in the master at start. Workers are forked from the
# master, so each inherits this one object instead of parsing the environment again.
_AT_START: list[ServerSettings] = []


def keep_for_workers(server: ServerSettings) -> None:
    """Called once by gunicorn.conf.py: the settings every worker (and its app) will use."""
    _AT_START[:] = [server]


def server_settings(environ: Mapping[str, str]) -> ServerSettings:
    """The settings parsed at start under gunicorn, else (tests, other servers) read from `environ`."""
    return _AT_START[0] if _AT_START else ServerSettings.from_env(environ)
