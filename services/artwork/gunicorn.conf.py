"""gunicorn settings for the artwork service, read from the environment.

Bad values stop the master before it binds, with one line naming the key.
"""

from __future__ import annotations

import math
import os

from artwork.config import Settings
from contract.env import Env
from contract.errors import ConfigError

try:
    _env = Env(os.environ)
    # Validate the app's own settings here too, so a typo fails once in the master with one
    # line, instead of in every worker with a traceback.
    _settings = Settings.from_env(os.environ)
    _port = _env.integer("ARTWORK_PORT", 8000, minimum=1, maximum=65535)
    _workers = _env.integer("ARTWORK_WORKERS", 2, minimum=1, maximum=32)
    _threads = _env.integer("ARTWORK_THREADS", 4, minimum=1, maximum=64)
    _max_connections = _env.integer("ARTWORK_MAX_CONNECTIONS", 10, minimum=1, maximum=1000)
    if _max_connections <= _threads:
        # gthread keeps (connections - threads) sockets alive between requests; with none left,
        # every poll from a display would pay for a new TCP handshake.
        raise ConfigError(
            f"ARTWORK_MAX_CONNECTIONS: {_max_connections} must be greater than ARTWORK_THREADS ({_threads})"
        )
except ConfigError as exc:
    # SystemExit passes through gunicorn's config loader, which would print a traceback for
    # any other exception.
    raise SystemExit(f"artwork: bad configuration: {exc}") from None

# The app factory; each worker builds its own app and Redis pool after the fork.
wsgi_app = "artwork:create_app()"
# Inside the container; publishing and firewalling decide who can reach it.
bind = [f"0.0.0.0:{_port}"]
# Threads share one process so a worker costs one interpreter; two workers survive one
# being wedged or recycled.
worker_class = "gthread"
workers = _workers
threads = _threads
# A fixed cap per worker: beyond it connections wait in the kernel backlog instead of
# growing memory or threads without bound.
worker_connections = _max_connections
# A short listen queue: a flood waits briefly or fails, rather than queueing for minutes.
backlog = 64
# Longer than a display's one-second poll, so it reuses its connection.
keepalive = 5
# gthread's timeout is a heartbeat, not a request deadline (the app enforces that); a
# worker silent this long is hung and gets replaced.
timeout = math.ceil(_settings.timeout_seconds)
# Below compose's 10 s stop grace period, so workers finish in-flight requests before a SIGKILL.
graceful_timeout = 8
# Recycle workers now and then so that any slow leak stays bounded; jitter keeps the two
# workers from restarting together.
max_requests = 2000
max_requests_jitter = 200
# The heartbeat file lives on tmpfs: a read-only root works and no SD-card writes happen.
_TMPFS = "/dev/shm"  # noqa: S108 - gunicorn creates its file there with mkstemp
worker_tmp_dir = _TMPFS if os.path.isdir(_TMPFS) else None
# No runtime control socket: nothing administers this server at runtime, and the
# default path under $HOME is not writable in a read-only container.
control_socket_disable = True
# Requests here are short GETs; tight limits cap what one client can make a thread parse.
limit_request_line = 2048
limit_request_fields = 40
# Browsers send every cookie of the host, including other apps' on the same Pi.
limit_request_field_size = 8190
# gunicorn's own messages at the service's level; access logs stay off (one line per poll
# per second per display is noise on an SD card).
loglevel = _settings.log_level.lower()
accesslog = None
errorlog = "-"
proc_name = "artwork"
