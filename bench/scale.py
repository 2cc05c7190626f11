"""Scale: 32 zones changing every 2 s (events mode), against one zone at the same pace.

The two sides make the same kind of change, in interleaved rounds (one zone, then 32 zones, in
each round): every stack first shows all 64 pooled covers once (fakesonos.load), so in the
measured part every change reuses renditions already made, and only the bar composite (it carries
the title) is rendered anew. The ratio is the median of the rounds' ratios.

Then the headroom: the same 32 zones at three times the pace, once with the default ZONE_WORKERS
and once with a single worker (the sequential loop the poller had before), in the same run. (At
four times the pace the emulated household, Redis and the poller together need more than 2 cores.)

The household runs in this process; a driver thread changes the tracks, staggered over the interval
(like fakesonos' load mode, but recording when each change was made). A reader thread records when
each stream entry arrives.
"""

from __future__ import annotations

import heapq
import threading
import time
from collections.abc import Sequence

from bench.common import Result, Stack, check, median, percentile
from bench.household import StreamWatcher, poller_stack
from fakesonos.household import FakeSpeaker
from fakesonos.load import COVER_POOL_SIZE, load_track, pooled_cover
from fakesonos.model import Track
from poller.config import Settings

BENCH = "scale"
INTERVAL_SECONDS = 2.0
TARGET_RATIO = 2.0
HEADROOM_PACE = 3  # times the scale target's pace: 48 changes a second, short of what 2 cores serve
DEFAULT_WORKERS = str(Settings.zone_workers)
ROUNDS = 3


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
        _show_every_cover(speakers, watcher)
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


def _show_every_cover(speakers: Sequence[FakeSpeaker], watcher: StreamWatcher) -> None:
    """Play each pooled cover once, a round at a time, so the measured changes all find theirs rendered."""
    for first in range(0, COVER_POOL_SIZE, len(speakers)):
        shown = []
        for speaker, cover in zip(speakers, range(first, COVER_POOL_SIZE), strict=False):
            title = f"Warm-up {cover}"
            speaker.set_track(Track(title, "Benchmark", "Benchmark", 180, cover=pooled_cover(cover)))
            shown.append((speaker.zone_id, title))
        for zone, title in shown:
            if watcher.wait(zone, title, 60) is None:
                raise RuntimeError(f"{zone}: warm-up change {title!r} was never published")


def run(quick: bool = False) -> list[Result]:
    """Measure; returns the result records."""
    rounds = [(_drive(1, 10), _drive(32, 20)) for _ in range(1 if quick else ROUNDS)]
    ratios = [median(many[0]) / median(one[0]) for one, many in rounds]
    ratio = median(ratios)
    one = [latency for (one_round, _) in rounds for latency in one_round[0]]
    one_made = sum(one_round[1] for one_round, _ in rounds)
    many = [latency for (_, many_round) in rounds for latency in many_round[0]]
    made = sum(many_round[1] for _, many_round in rounds)
    missing = sum(many_round[2] for _, many_round in rounds)
    trend = max(many_round[3] for _, many_round in rounds)
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
            f"max {max(many):.0f} ms over {made} changes; median of {len(ratios)} interleaved rounds "
            f"(ratios {', '.join(f'{r:.2f}' for r in ratios)}), every cover already rendered on both sides",
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
