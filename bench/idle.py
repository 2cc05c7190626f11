"""Idle cost: poller CPU over 60 s with 4 zones and no changes (events mode), against the original loop.

Both run at the same time against the same emulated household: the poller (`python -m poller`,
SONOS_EVENTS=on) and the original design's loop (bench/legacy_loop.py: discover, then
get_current_track_info() every second). CPU is user+system time of each process over the window.
"""

from __future__ import annotations

import sys
import time

from bench.common import Result, Stack, check, cpu_seconds, service_env
from bench.household import base_cover, poller_stack, track, unique_cover

BENCH = "idle"
ROOMS = ("Living Room", "Kitchen", "Office", "Bedroom")
ZONES = ("living-room", "kitchen", "office", "bedroom")
TARGET_PERCENT = 1.0


def run(quick: bool = False) -> list[Result]:
    """Measure; returns the result records."""
    window = 15.0 if quick else 60.0
    with Stack(BENCH) as stack:
        env = poller_stack(stack, ROOMS)
        art = base_cover(640)
        for n, zone in enumerate(ZONES):
            env.household.speaker(zone).set_track(track(f"Idle {zone}", unique_cover(art, n)))
        poller = env.start_poller("events")
        env.wait_for_zones(ZONES, poller)
        env.wait_for_mode("events", poller)
        legacy = stack.popen(
            [sys.executable, "-m", "bench.legacy_loop", *(s.ip for s in env.household.speakers)],
            log_name="legacy.log",
            env=service_env(),
        )
        time.sleep(3)  # both settled: discovery done, subscriptions live
        pids = {"poller": poller.process.pid, "legacy": legacy.pid}
        before = {name: cpu_seconds([pid]) for name, pid in pids.items()}
        started = time.monotonic()
        time.sleep(window)
        elapsed = time.monotonic() - started
        used = {name: cpu_seconds([pid]) - before[name] for name, pid in pids.items()}
        if legacy.poll() is not None:
            raise RuntimeError(f"legacy loop exited:\n{stack.log_tail('legacy.log')}")
        changes = env.client.xlen("sonos:events")
    percent = {name: 100 * seconds / elapsed for name, seconds in used.items()}
    return [
        Result(
            BENCH,
            "poller CPU, 4 zones idle, events mode",
            percent["poller"],
            "%",
            target=f"< {TARGET_PERCENT:g} % of a core",
            passed=check(percent["poller"], "<", TARGET_PERCENT),
            baseline=f"original loop {percent['legacy']:.2f} % (same {elapsed:.0f} s, same household)",
            detail=f"{used['poller']:.2f} CPU-s vs {used['legacy']:.2f} CPU-s: "
            f"{percent['poller'] / max(percent['legacy'], 1e-9):.2f}× the original; {changes} stream entries",
            extra={"poller_cpu_s": round(used["poller"], 3), "legacy_cpu_s": round(used["legacy"], 3)},
        )
    ]
