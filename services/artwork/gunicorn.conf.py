"""gunicorn settings for the artwork service, read from the environment.

Bad values stop the master before it binds, with one line naming the key.
"""

from __future__ import annotations

import math
import os
import sys
from typing import Any

from artwork.config import ServerSettings, keep_for_workers
from artwork.metrics_dir import clear_metrics_dir, ensure_metrics_dir, remove_if_owned
from artwork.startup import artwork_dir_problem
from contract.cgroup import MEMORY_CGROUP_WARNING, memory_cgroup_enabled
from contract.errors import CONFIG_EXIT_CODE, ConfigError

try:
    # Validated here once, so a typo fails in the master with one line, not in every worker.
    _server = ServerSettings.from_env(os.environ)
    _settings = _server.app
    keep_for_workers(_server)
    # A missing or unreadable volume is fatal: every image request would fail.
    if (_problem := artwork_dir_problem(_settings.artwork_dir)) is not None:
        raise ConfigError(_problem)
    # Last, so a bad value above leaves no directory behind; and before anything imports
    # prometheus_client (only workers do), which reads this variable once, at its import.
    _metrics_dir = ensure_metrics_dir(os.environ)
except ConfigError as exc:
    # SystemExit passes through gunicorn's config loader, which would print a traceback for
    # any other exception; the code tells a configuration error from a crash.
    print(f"artwork: bad configuration: {exc}", file=sys.stderr)
    raise SystemExit(CONFIG_EXIT_CODE) from None

# The app factory; each worker builds its own app and Redis pool after the fork.
wsgi_app = "artwork:create_app()"
# Inside the container; publishing and firewalling decide who can reach it.
bind = [f"0.0.0.0:{_server.port}"]
# gthread, with request heads read by the event loop under ARTWORK_READ_TIMEOUT_SECONDS, and a
# fast 503 beyond worker_connections (see artwork/worker.py). Threads share one process so a
# worker costs one interpreter; two workers survive one being wedged or recycled.
worker_class = "artwork.worker.BoundedThreadWorker"
workers = _server.workers
threads = _server.threads
# A fixed cap per worker: beyond it an idle connection is closed to make room, or the newcomer
# gets an immediate 503; memory and threads never grow with the number of clients.
worker_connections = _server.max_connections
# A short listen queue: a flood waits briefly or fails, rather than queueing for minutes.
backlog = 64
# Longer than a display's one-second poll, so it reuses its connection.
keepalive = 5
# gthread's timeout is a heartbeat, not a request deadline (the app enforces that); a
# worker silent this long is hung and gets replaced.
timeout = math.ceil(_settings.timeout_seconds)
# Below compose's 10 s stop grace period, so workers finish in-flight requests before a SIGKILL.
graceful_timeout = 8
# No recycling by request count: each restart moved all its clients to the sibling, which then
# served them alone (half the throughput) until it restarted in turn, and at 20000 requests that
# was every few seconds under load. A worker retires instead when its memory grows (see
# RETIRE_AFTER_GROWTH_BYTES in artwork/worker.py); worker RSS stays flat (bench/ soak).
max_requests = 0
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


# --- metrics: prometheus-client in multiprocess mode, one file set per worker ---------------------


def on_starting(server: Any) -> None:
    """Counters start at zero with the master; a disabled memory cgroup is reported once."""
    clear_metrics_dir(_metrics_dir)
    if not memory_cgroup_enabled():
        server.log.warning("artwork: %s", MEMORY_CGROUP_WARNING)


def on_exit(server: Any) -> None:
    """Remove the metrics directory if this master created it."""
    remove_if_owned(_metrics_dir)


def post_worker_init(worker: Any) -> None:
    """Count this worker among the live ones."""
    from artwork import metrics  # noqa: PLC0415 - only workers import prometheus_client

    metrics.worker_started()


def child_exit(server: Any, worker: Any) -> None:
    """A dead worker's live gauges go; its counters stay in the totals."""
    from artwork import metrics  # noqa: PLC0415 - see post_worker_init

    metrics.worker_exited(worker.pid)


def pre_request(worker: Any, req: Any) -> None:
    """Count the request in flight and note when it started."""
    from artwork import metrics  # noqa: PLC0415 - see post_worker_init

    req.artwork_started = metrics.request_started()


def post_request(worker: Any, req: Any, environ: dict[str, Any], resp: Any) -> None:
    """Record the answered request, after its body (sendfile included) went out."""
    from artwork import metrics  # noqa: PLC0415 - see post_worker_init

    started = getattr(req, "artwork_started", None)
    if started is None:
        return
    status = resp.status_code if resp is not None else 500
    written = resp.sent if resp is not None else 0
    length = resp.response_length if resp is not None else None
    metrics.request_finished(
        environ.get(metrics.ROUTE_ENVIRON_KEY, metrics.UNMATCHED_ROUTE),
        status,
        metrics.body_bytes_sent(req.method, status, length, written),
        started,
    )
