"""Scale: 32 zones changing every 2 s for a minute (events mode), against one zone at the same pace.

Then the headroom: the same 32 zones at three times the pace, once with the default ZONE_WORKERS
and once with a single worker (the sequential loop the poller had before), in the same run. (At
four times the pace the emulated household, Redis and the poller together need more than 2 cores.)

The household runs in this process; a driver thread changes the tracks, staggered over the interval
(like fakesonos' load mode, but recording when each change was made), with covers from a pool of
64 (fakesonos.load), so the art is cached after the first round while the bar composite (it carries
the title) is rendered every time. A reader thread records when each stream entry arrives.
"""

from __future__ import annotations

import heapq
import threading
import time

from bench.common import Result, Stack, check, median, percentile
from bench.household import StreamWatcher, poller_stack
from fakesonos.load import load_track
from poller.config import Settings

BENCH = "scale"
INTERVAL_SECONDS = 2.0
TARGET_RATIO = 2.0
HEADROOM_PACE = 3  # times the scale target's pace: 48 changes a second, short of what 2 cores serve
DEFAULT_WORKERS = str(Settings.zone_workers)


def _drive(
    zones: int, seconds: float, interval_seconds: float = INTERVAL_SECONDS, **poller_env: str
) -> tuple[list[float], int, int, float]:
    """Latencies (ms) of every change, changes made, entries missing, and latency trend (2nd/1st half p50)."""
    rooms = [f"Load {n:03d}" for n in range(1, zones + 1)]
    with Stack(f"{BENCH}-{zones}") as stack:
        env = poller_stack(stack, rooms)
        speakers = env.household.speakers
        for index, speaker in enumerate(speakers):
            speaker.set_track(load_track(index, 0))
        poller = env.start_poller("events", **poller_env)
        env.wait_for_zones([s.zone_id for s in speakers], poller, timeout_seconds=120)
        env.wait_for_mode("events", poller, timeout_seconds=60)
        watcher = StreamWatcher(env.redis_server.url, env.last_id())
        stack.callback(watcher.close)
        made: list[tuple[str, str, float]] = []
        stop = threading.Event()

        def drive() -> None:
            started = time.monotonic()
            stagger = interval_seconds / zones
            due = [(index * stagger, index, 1) for index in range(zones)]
            heapq.heapify(due)
            while due:
                at, index, change = heapq.heappop(due)
                if at >= seconds or stop.wait(max(0.0, started + at - time.monotonic())):
                    return
                track = load_track(index, change)
                speakers[index].set_track(track)
                made.append((speakers[index].zone_id, track.title, time.monotonic()))
                heapq.heappush(due, (at + interval_seconds, index, change + 1))

        driver = threading.Thread(target=drive, name="bench-driver", daemon=True)
        stack.callback(stop.set)
        driver.start()
        driver.join(seconds + 10)
        latencies, missing = [], 0
        # One deadline for all: a change still unpublished 10 s after the last one never will be.
        deadline = time.monotonic() + 10
        for zone, title, at in made:
            arrived = watcher.wait(zone, title, max(0.0, deadline - time.monotonic()))
            if arrived is None:
                missing += 1
            else:
                latencies.append(1000 * (arrived[0] - at))
    half = len(latencies) // 2
    trend = median(latencies[half:]) / median(latencies[:half]) if half else 1.0
    return latencies, len(made), missing, trend


def run(quick: bool = False) -> list[Result]:
    """Measure; returns the result records."""
    one, one_made, _, _ = _drive(1, 10 if quick else 20)
    many, made, missing, trend = _drive(32, 20 if quick else 60)
    ratio = median(many) / median(one)
    no_backlog = missing == 0 and trend < 1.5 and max(many) < 10 * INTERVAL_SECONDS * 1000
    fast_seconds, fast_interval = (8 if quick else 15), INTERVAL_SECONDS / HEADROOM_PACE
    single, single_made, single_missing, _ = _drive(32, fast_seconds, fast_interval, ZONE_WORKERS="1")
    pooled, pooled_made, pooled_missing, _ = _drive(
        32, fast_seconds, fast_interval, ZONE_WORKERS=DEFAULT_WORKERS
    )
    rate = 32 / fast_interval
    return [
        Result(
            BENCH,
            "32 zones every 2 s: p50 latency vs one zone",
            ratio,
            "x",
            target=f"≤ {TARGET_RATIO:g}× one zone",
            passed=check(ratio, "<=", TARGET_RATIO),
            baseline=f"one zone p50 {median(one):.0f} ms "
            f"(p95 {percentile(one, 95):.0f} ms, {one_made} changes)",
            detail=f"32 zones p50 {median(many):.0f} ms, p95 {percentile(many, 95):.0f} ms, "
            f"max {max(many):.0f} ms over {made} changes",
        ),
        Result(
            BENCH,
            "32 zones every 2 s: backlog",
            float(missing),
            "changes",
            target="none: every change published, latency not growing",
            passed=no_backlog,
            detail=f"{made} changes, {missing} never published; p50 2nd half / 1st half {trend:.2f}",
        ),
        Result(
            BENCH,
            f"headroom: 32 zones at {HEADROOM_PACE}× the pace ({rate:.0f} changes/s), "
            f"ZONE_WORKERS={DEFAULT_WORKERS}: p95 latency",
            percentile(pooled, 95),
            "ms",
            baseline=f"ZONE_WORKERS=1 (one zone at a time): p95 {percentile(single, 95):.0f} ms, "
            f"{single_missing} of {single_made} superseded",
            detail=f"p50 {median(pooled):.0f} ms (one worker {median(single):.0f} ms), "
            f"{pooled_missing} of {pooled_made} superseded before they were published "
            f"(the latest state wins); {fast_seconds} s each, same run",
        ),
    ]
