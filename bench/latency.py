"""Change latency: fakesonos track change -> stream entry with the images on disk, 1500² art.

The poller runs as a real `python -m poller` process; the bench changes the track in the emulated
household (in this process) and waits for the XADD. Events mode (SONOS_EVENTS=on) and polling mode
(off, POLL_INTERVAL_SECONDS=2, changes at random phases of the interval) are measured one after the
other against the same household.
"""

from __future__ import annotations

import random
import time

from bench.common import Result, Stack, check, median, percentile
from bench.household import StreamWatcher, base_cover, poller_stack, track, unique_cover

BENCH = "latency"
ROOM, ZONE = "Bench Room", "bench-room"
ART_PIXELS = 1500
TARGET_P50_MS = 150.0
TARGET_P95_MS = 400.0


def _measure(mode: str, changes: int, quick: bool) -> tuple[list[float], int]:
    """Latencies in ms of `changes` track changes, and how many entries lacked files on disk."""
    with Stack(f"{BENCH}-{mode}") as stack:
        env = poller_stack(stack, [ROOM])
        speaker = env.household.speaker(ZONE)
        art = base_cover(ART_PIXELS)
        speaker.set_track(track("warm-up", unique_cover(art, -1)))
        poller = env.start_poller(mode)
        env.wait_for_zones([ZONE], poller)
        if mode == "events":
            env.wait_for_mode("events", poller)
        watcher = StreamWatcher(env.redis_server.url, env.last_id())
        stack.callback(watcher.close)
        rng = random.Random(7)
        latencies: list[float] = []
        missing_files = 0
        for n in range(changes):
            cover = unique_cover(art, n)
            title = f"{mode} change {n}"
            # Polling: a random phase of the 2 s interval; events: a short gap between changes.
            time.sleep(rng.uniform(0, 2.0) if mode == "polling" else 0.02)
            started = time.monotonic()
            speaker.set_track(track(title, cover))
            arrived = watcher.wait(ZONE, title, 15)
            if arrived is None:
                raise RuntimeError(f"no stream entry for {title!r}:\n{poller.output()[-3000:]}")
            latencies.append(1000 * (arrived[0] - started))
            missing_files += not env.images_on_disk(arrived[1])
        return latencies, missing_files


def run(quick: bool = False) -> list[Result]:
    """Measure; returns the result records."""
    results = []
    for mode, changes in (("events", 40 if quick else 200), ("polling", 8 if quick else 20)):
        latencies, missing = _measure(mode, changes, quick)
        p50, p95 = median(latencies), percentile(latencies, 95)
        how = f"{changes} changes, {ART_PIXELS}² art, default profiles, real poller process"
        if missing:
            how += f"; {missing} entries named files not on disk"
        targets = mode == "events"
        results.append(
            Result(
                BENCH,
                f"{mode} mode: p50",
                p50,
                "ms",
                target=f"< {TARGET_P50_MS:g} ms" if targets else "",
                passed=check(p50, "<", TARGET_P50_MS) and not missing if targets else None,
                baseline="polling: half the 2 s interval on average" if targets else "",
                detail=how,
                extra={"p99_ms": round(percentile(latencies, 99), 1), "max_ms": round(max(latencies), 1)},
            )
        )
        results.append(
            Result(
                BENCH,
                f"{mode} mode: p95",
                p95,
                "ms",
                target=f"< {TARGET_P95_MS:g} ms" if targets else "",
                passed=check(p95, "<", TARGET_P95_MS) if targets else None,
                detail=f"max {max(latencies):.0f} ms",
            )
        )
    return results
