"""Workers restarting under load: the sibling takes their clients, and nobody is refused or cut off."""

from __future__ import annotations

import http.client
import threading
import time
from collections import Counter
from collections.abc import Iterator

import pytest

from contract.profiles import BUILTIN_PROFILES
from harness.gunicorn import ArtworkServer, artwork_in, make_zone, seed_zone, write_rendition
from harness.redis_server import RedisServer

CLIENTS = 10  # as many as one worker's ARTWORK_MAX_CONNECTIONS (the default, 10)
LOAD_SECONDS = 6.0
# Forced here through gunicorn's own setting (the service itself recycles only on memory growth):
# a worker stopping is the same graceful stop whatever asked for it.
MAX_REQUESTS = 300


@pytest.fixture(scope="module")
def server(redis_server: RedisServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ArtworkServer]:
    """Two workers at the default limits, each restarting after MAX_REQUESTS requests."""
    with artwork_in(
        redis_server,
        tmp_path_factory.mktemp("artwork-recycling"),
        extra_env={"GUNICORN_CMD_ARGS": f"--max-requests {MAX_REQUESTS} --max-requests-jitter 0"},
    ) as running:
        name = write_rendition(running.artwork_dir, BUILTIN_PROFILES["jpeg720"], source_id="recycling")
        seed_zone(redis_server.url, make_zone("living-room", {"jpeg720": name}))
        yield running


def _poll_until(port: int, deadline: float, outcomes: Counter[str], lock: threading.Lock) -> None:
    """One display polling as fast as it can on a kept-alive connection, reconnecting when told to."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    while time.monotonic() < deadline:
        try:
            conn.request("GET", "/zones/living-room/jpeg720.jpg")
            response = conn.getresponse()
            response.read()
            outcome = str(response.status)
        except (OSError, http.client.HTTPException) as exc:
            outcome = f"error: {type(exc).__name__}"
            conn.close()
        with lock:
            outcomes[outcome] += 1
    conn.close()


@pytest.mark.timeout(60)
def test_ten_clients_across_worker_restarts_get_no_503_and_no_connection_error(server: ArtworkServer):
    log_before = server.log_tail(1_000_000).count("Autorestarting worker")
    outcomes: Counter[str] = Counter()
    lock = threading.Lock()
    deadline = time.monotonic() + LOAD_SECONDS
    clients = [
        threading.Thread(target=_poll_until, args=(server.port, deadline, outcomes, lock))
        for _ in range(CLIENTS)
    ]
    for client in clients:
        client.start()
    for client in clients:
        client.join(timeout=30)

    restarts = server.log_tail(1_000_000).count("Autorestarting worker") - log_before
    print(f"{sum(outcomes.values())} requests, {restarts} worker restarts: {dict(outcomes)}")
    assert restarts >= 2
    assert outcomes.keys() == {"200"}, outcomes
    assert "rejected connection" not in server.log_tail(1_000_000)
