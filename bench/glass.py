"""Change to glass: from the speaker's change to a display holding the new cover, and what waiting costs.

The display side is an HTTP client as a panel runs it. The waiting client asks for `jpeg720` with
`?wait=30` and the ETag it has, and asks again at once after each answer; the polling client asks
every 2 s with `If-None-Match`, as the original Qualia `code.py` does. Both watch the same changes
of a fakesonos household, through the real poller process and the artwork service under its real
gunicorn configuration. Then, on a fresh artwork service: the memory and CPU that 200 held
requests cost, and the `/zones` 200 throughput with them held against the same without, in
interleaved rounds.
"""

from __future__ import annotations

import http.client
import random
import socket
import threading
import time
from functools import partial

from bench.common import MIB, Result, Stack, check, cpu_seconds, median, percentile, rss_bytes, tree_pids
from bench.household import base_cover, poller_stack, track, unique_cover
from bench.http_serving import run_wrk, start_gunicorn
from harness.gunicorn import http_request, metric, metric_samples_at
from harness.waiting import wait_for

BENCH = "glass"
ROOM, ZONE = "Glass Room", "glass-room"
PATH = f"/zones/{ZONE}/jpeg720.jpg"
ART_PIXELS = 1500
POLL_SECONDS = 2.0
HELD = 200
TARGET_P50_MS = 100.0
TARGET_P95_MS = 200.0
TARGET_RATIO = 0.1
TARGET_RSS_MIB = 8.0
TARGET_IDLE_CPU_PERCENT = 1.0
TARGET_THROUGHPUT_RATIO = 0.9


class Display(threading.Thread):
    """A panel's client: records when it first held each new ETag (monotonic seconds)."""

    def __init__(self, port: int, etag: str, *, waiting: bool) -> None:
        super().__init__(daemon=True)
        self._port = port
        self.etag = etag
        self._waiting = waiting
        self.seen: dict[str, float] = {}
        self._stop = threading.Event()

    def run(self) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", self._port, timeout=40)
        path = f"{PATH}?wait=30" if self._waiting else PATH
        while not self._stop.is_set():
            conn.request("GET", path, headers={"If-None-Match": self.etag})
            response = conn.getresponse()
            response.read()
            if response.status == 200:
                self.etag = response.headers["ETag"]
                self.seen[self.etag] = time.monotonic()
            if not self._waiting:
                self._stop.wait(POLL_SECONDS)
        conn.close()

    def stop(self) -> None:
        self._stop.set()


def _glass(changes: int) -> tuple[list[float], list[float]]:
    """Latencies (ms) of the waiting and the polling client over `changes` track changes."""
    with Stack(f"{BENCH}-latency") as stack:
        env = poller_stack(stack, [ROOM])
        speaker = env.household.speaker(ZONE)
        art = base_cover(ART_PIXELS)
        speaker.set_track(track("warm-up", unique_cover(art, -1)))
        poller = env.start_poller("events")
        env.wait_for_zones([ZONE], poller)
        env.wait_for_mode("events", poller)
        port, _pid = start_gunicorn(stack, env.artwork_dir, env.redis_server.url, "artwork", {})
        etag = http_request(port, PATH).headers["etag"]
        displays = [Display(port, etag, waiting=True), Display(port, etag, waiting=False)]
        for display in displays:
            display.start()
            stack.callback(display.stop)
        rng = random.Random(11)
        waited: list[float] = []
        polled: list[float] = []
        for n in range(changes):
            # A random phase of the polling client's 2 s interval, as a track change has.
            time.sleep(rng.uniform(0.05, POLL_SECONDS))
            target = [len(d.seen) + 1 for d in displays]
            started = time.monotonic()
            speaker.set_track(track(f"glass change {n}", unique_cover(art, n)))
            wait_for(
                partial(_all_seen, displays, target),
                15,
                interval_seconds=0.005,
                what=f"change {n} on both displays (poller log: {poller.log_path})",
            )
            waited.append(1000 * (list(displays[0].seen.values())[-1] - started))
            polled.append(1000 * (list(displays[1].seen.values())[-1] - started))
        return waited, polled


def _all_seen(displays: list[Display], counts: list[int]) -> bool:
    return all(len(d.seen) >= count for d, count in zip(displays, counts, strict=True))


def _park(port: int, etag: str, count: int) -> list[socket.socket]:
    request = (f"GET {PATH}?wait=30 HTTP/1.1\r\nHost: 127.0.0.1\r\nIf-None-Match: {etag}\r\n\r\n").encode()
    socks = []
    for _ in range(count):
        sock = socket.create_connection(("127.0.0.1", port), timeout=5)
        sock.sendall(request)
        socks.append(sock)
    return socks


def _cost(rounds: int) -> dict[str, float]:
    """Memory, idle CPU and throughput of the artwork service with HELD requests held."""
    with Stack(f"{BENCH}-cost") as stack:
        env = poller_stack(stack, [ROOM])
        speaker = env.household.speaker(ZONE)
        speaker.set_track(track("held", unique_cover(base_cover(640), 0)))
        poller = env.start_poller("events")
        env.wait_for_zones([ZONE], poller)
        port, pid = start_gunicorn(
            stack, env.artwork_dir, env.redis_server.url, "artwork", {"ARTWORK_MAX_WAITERS": str(HELD)}
        )

        def held() -> float:
            return metric(metric_samples_at(port), "artwork_waiters")

        etag = http_request(port, PATH).headers["etag"]
        run_wrk(port, PATH, 1, pid, {})  # warm up: lazy imports, caches
        before_rss = rss_bytes(tree_pids(pid))
        socks = _park(port, etag, HELD)
        wait_for(lambda: held() == HELD, 20, what=f"{HELD} held requests")
        time.sleep(1)
        added_rss = rss_bytes(tree_pids(pid)) - before_rss
        cpu_before = cpu_seconds(tree_pids(pid))
        idle_seconds = 10.0
        time.sleep(idle_seconds)
        idle_cpu = 100 * (cpu_seconds(tree_pids(pid)) - cpu_before) / idle_seconds
        for sock in socks:
            sock.close()
        wait_for(lambda: held() == 0, 10, what="every held request gone")

        ratios: list[float] = []
        with_held: list[float] = []
        without: list[float] = []

        def measure(parked: bool) -> float:
            socks = _park(port, etag, HELD) if parked else []
            if parked:
                wait_for(lambda: held() == HELD, 20, what=f"{HELD} held requests")
            rps = run_wrk(port, PATH, 1, pid, {}).requests_per_second
            for sock in socks:
                sock.close()
            if parked:
                wait_for(lambda: held() == 0, 10, what="every held request gone")
            return rps

        for n in range(rounds):  # alternate which goes first, so neither always gets the fresher machine
            if n % 2:
                parked = measure(True)
                plain = measure(False)
            else:
                plain = measure(False)
                parked = measure(True)
            without.append(plain)
            with_held.append(parked)
            ratios.append(parked / plain)
        return {
            "added_rss_mib": added_rss / MIB,
            "idle_cpu_percent": idle_cpu,
            "throughput_ratio": median(ratios),
            "throughput_ratio_min": min(ratios),
            "throughput_ratio_max": max(ratios),
            "rps_with": median(with_held),
            "rps_without": median(without),
        }


def run(quick: bool = False) -> list[Result]:
    """Measure; returns the result records."""
    changes = 20 if quick else 100
    waited, polled = _glass(changes)
    cost = _cost(3 if quick else 7)
    p50, p95, poll_p50 = median(waited), percentile(waited, 95), median(polled)
    how = f"{changes} changes, {ART_PIXELS}² art, real poller and gunicorn, events mode"
    return [
        Result(
            BENCH,
            "change to glass, waiting client: p50",
            p50,
            "ms",
            target=f"< {TARGET_P50_MS:g} ms",
            passed=check(p50, "<", TARGET_P50_MS),
            baseline=f"polling every 2 s: p50 {poll_p50:.0f} ms",
            detail=how,
        ),
        Result(
            BENCH,
            "change to glass, waiting client: p95",
            p95,
            "ms",
            target=f"< {TARGET_P95_MS:g} ms",
            passed=check(p95, "<", TARGET_P95_MS),
            baseline=f"polling: p95 {percentile(polled, 95):.0f} ms",
            detail=f"max {max(waited):.0f} ms",
        ),
        Result(
            BENCH,
            "change to glass: waiting p50 / polling p50",
            p50 / poll_p50,
            "×",
            target=f"≤ {TARGET_RATIO:g}",
            passed=check(p50 / poll_p50, "<=", TARGET_RATIO),
            baseline=f"polling p50 {poll_p50:.0f} ms",
            detail="same changes, both clients at once",
        ),
        Result(
            BENCH,
            f"{HELD} held requests: artwork RSS added",
            cost["added_rss_mib"],
            "MiB",
            target=f"< {TARGET_RSS_MIB:g} MiB",
            passed=check(cost["added_rss_mib"], "<", TARGET_RSS_MIB),
            baseline="the same service before",
            detail="2 workers, master included",
        ),
        Result(
            BENCH,
            f"{HELD} held requests: CPU while nothing changes",
            cost["idle_cpu_percent"],
            "% of a core",
            target=f"< {TARGET_IDLE_CPU_PERCENT:g} %",
            passed=check(cost["idle_cpu_percent"], "<", TARGET_IDLE_CPU_PERCENT),
            detail="10 s, master and workers",
        ),
        Result(
            BENCH,
            f"/zones 200 req/s with {HELD} held vs none",
            cost["throughput_ratio"],
            "×",
            target=f"≥ {TARGET_THROUGHPUT_RATIO:g}×",
            passed=check(cost["throughput_ratio"], ">=", TARGET_THROUGHPUT_RATIO),
            baseline=f"none held: {cost['rps_without']:.0f} req/s",
            detail=f"{cost['rps_with']:.0f} req/s held; median of interleaved 1 s wrk rounds, range "
            f"{cost['throughput_ratio_min']:.2f}-{cost['throughput_ratio_max']:.2f}",
        ),
    ]
