"""Memory soak: 5,000 track changes with distinct art through a real poller, then 100,000 requests
to the artwork service; RSS of every process of the stack is sampled throughout.

The poller runs as `python -m poller` in events mode with 4 zones; the bench changes every zone's
track, waits for the 4 stream entries, and repeats, each change with new cover bytes (small
covers, so 5,000 full renders of the default profiles fit the time budget). gunicorn runs the
artwork service with its real configuration (no recycling by request count), so that the same two
workers serve every request and a leak could not hide behind worker recycling. Both loads run at
the same time, as they would on the Pi.
"""

from __future__ import annotations

import re
import subprocess
import sys
import threading
import time

from bench.common import MIB, Result, Stack, check, median, rss_bytes, tree_pids
from bench.household import StreamWatcher, base_cover, poller_stack, track, unique_cover
from bench.http_serving import start_gunicorn
from harness.waiting import wait_for

BENCH = "soak"
ROOMS = ("Living Room", "Kitchen", "Office", "Bedroom")
ZONES = ("living-room", "kitchen", "office", "bedroom")
COVER_PIXELS = 200
# Every layout and encoder of the defaults (indexed BMP, JPEG, the bar composite with text) at
# small sizes: 5,000 renders of the full-size defaults alone take longer than the whole budget.
SOAK_PROFILES = "sq=160x160.bmp,jp=160x160.jpg,png=96x96.png"
TARGET_POLLER_GROWTH_MIB = 5.0
TARGET_WORKER_GROWTH_MIB = 2.0
GOAL_STACK_MIB = 200.0

WRK_SCRIPT = """
local paths = {"/zones/living-room/jp.jpg", "/api/zones", "/zones/kitchen/sq.bmp",
               "/metadata.json", "/art/none", "/api/zones/office"}
local n = 0
request = function()
  n = n + 1
  return wrk.format("GET", paths[(n % #paths) + 1])
end
"""


def _wrk(stack: Stack, port: int, requests: int, script: str) -> int:
    """wrk in 5 s runs until at least `requests` responses; killed with the stack if the soak fails."""
    done = 0
    while done < requests:
        process = stack.popen(
            ["wrk", "-t1", "-c4", "-d5s", "-s", script, f"http://127.0.0.1:{port}/"], log_name="wrk.log"
        )
        if process.wait(timeout=60) != 0:
            raise subprocess.CalledProcessError(process.returncode, "wrk")
        done += int(re.findall(r"(\d+) requests in", stack.log_tail("wrk.log"))[-1])
    return done


def run(quick: bool = False) -> list[Result]:  # noqa: PLR0915 - one linear script
    """Measure; returns the result records."""
    changes = 600 if quick else 5000
    warm_changes = changes // 10
    requests = 20_000 if quick else 100_000
    with Stack(BENCH) as stack:
        env = poller_stack(stack, ROOMS)
        art = base_cover(COVER_PIXELS)
        for n, zone in enumerate(ZONES):
            env.household.speaker(zone).set_track(track(f"{zone} start", unique_cover(art, -1 - n)))
        # No overload back-off: the soak drives the poller flat out on purpose (the back-off would
        # only defer renders, not change what is allocated).
        poller = env.start_poller("events", CPU_THRESHOLD_PERCENT="100", ARTWORK_PROFILES=SOAK_PROFILES)
        env.wait_for_zones(ZONES, poller)
        env.wait_for_mode("events", poller)
        port, master = start_gunicorn(stack, env.artwork_dir, env.redis_server.url, "artwork", {})
        script = stack.tmp / "soak.lua"
        script.write_text(WRK_SCRIPT)
        # /healthz answered from one worker; the other may still be booting.
        wait_for(lambda: len(tree_pids(master)) == 3, 20, what="both gunicorn workers")
        workers = sorted(tree_pids(master)[1:])
        worker_rss: dict[str, float] = {}
        served: dict[str, int] = {}

        def load() -> None:
            served["warm"] = _wrk(stack, port, requests // 10, str(script))
            worker_rss["warm"] = rss_bytes(workers) / MIB
            served["total"] = served["warm"] + _wrk(stack, port, requests - requests // 10, str(script))
            worker_rss["end"] = rss_bytes(workers) / MIB

        watcher = StreamWatcher(env.redis_server.url, env.last_id())
        stack.callback(watcher.close)
        loader = threading.Thread(target=load, name="bench-wrk", daemon=True)
        started = time.monotonic()
        loader.start()
        poller_pid = poller.process.pid
        stack_pids = [poller_pid, *tree_pids(master), env.redis_server._process.pid]  # type: ignore[union-attr]
        poller_samples: list[tuple[int, float]] = []
        stack_max = 0.0
        made = 0
        while made < changes:
            batch = [(zone, f"{zone} change {made + i}") for i, zone in enumerate(ZONES)]
            for i, (zone, title) in enumerate(batch):
                env.household.speaker(zone).set_track(track(title, unique_cover(art, made + i)))
            for zone, title in batch:
                if watcher.wait(zone, title, 30) is None:
                    raise RuntimeError(f"no stream entry for {title!r}:\n{poller.output()[-3000:]}")
            made += len(batch)
            if made % 1000 == 0:
                print(f"  soak: {made} changes", file=sys.stderr, flush=True)
            if made % 200 == 0 or made >= changes:
                poller_samples.append((made, rss_bytes([poller_pid]) / MIB))
                stack_max = max(stack_max, rss_bytes(stack_pids) / MIB)
        poller_seconds = time.monotonic() - started
        loader.join(timeout=600)
        if "end" not in worker_rss:
            raise RuntimeError(f"the HTTP load did not finish:\n{stack.log_tail('wrk.log')}")
        stack_max = max(stack_max, rss_bytes(stack_pids) / MIB)
        if sorted(tree_pids(master)[1:]) != workers:
            log_tail = stack.log_tail("artwork.log")
            raise RuntimeError(f"gunicorn workers were replaced during the soak:\n{log_tail}")
        files_ok = all(env.images_on_disk(fields) for _, fields in list(watcher.arrivals.values())[-8:])
    warm = median(rss for n, rss in poller_samples if warm_changes <= n < warm_changes + 600)
    end = median(rss for _, rss in poller_samples[-3:])
    growth = end - warm
    worker_growth = worker_rss["end"] - worker_rss["warm"]
    how = (
        f"real poller, events mode, 4 zones, {COVER_PIXELS}² covers with distinct bytes, "
        f"profiles {SOAK_PROFILES}"
    )
    return [
        Result(
            BENCH,
            f"poller RSS growth over {changes:,} changes after warm-up",
            growth,
            "MiB",
            target=f"< {TARGET_POLLER_GROWTH_MIB:g} MiB",
            passed=check(growth, "<", TARGET_POLLER_GROWTH_MIB) and files_ok,
            baseline=f"{warm:.1f} MiB after {warm_changes} changes",
            detail=f"{end:.1f} MiB at the end; {how}; {changes / poller_seconds:.0f} changes/s while serving",
            extra={
                "samples": [(n, round(r, 1)) for n, r in poller_samples[:: max(1, len(poller_samples) // 12)]]
            },
        ),
        Result(
            BENCH,
            f"artwork worker RSS growth over {served['total']:,} requests",
            worker_growth,
            "MiB",
            target=f"flat (< {TARGET_WORKER_GROWTH_MIB:g} MiB)",
            passed=check(worker_growth, "<", TARGET_WORKER_GROWTH_MIB),
            baseline=f"2 workers {worker_rss['warm']:.1f} MiB after {served['warm']:,} requests",
            detail=f"{worker_rss['end']:.1f} MiB at the end; no recycling; 6 routes incl. Redis-backed JSON",
        ),
        Result(
            BENCH,
            "whole stack RSS (redis, poller, gunicorn master + 2 workers), max",
            stack_max,
            "MiB",
            target=f"goal < {GOAL_STACK_MIB:g} MiB",
            passed=check(stack_max, "<", GOAL_STACK_MIB),
            detail="sampled every 200 changes during the soak",
        ),
    ]
