"""Load mode for benchmarks: M speakers, each changing track every T seconds, with pooled covers."""

from __future__ import annotations

import functools
import heapq
import ipaddress
import logging
import time
from collections.abc import Sequence

from fakesonos.background import BackgroundChanges
from fakesonos.covers import generated_cover
from fakesonos.household import Household
from fakesonos.model import Cover, Track

logger = logging.getLogger(__name__)

COVER_POOL_SIZE = 64
LOAD_COVER_SIZE_PIXELS = 300  # small enough to generate quickly, big enough to resize
DEFAULT_LOAD_INTERVAL_SECONDS = 1.0
DEFAULT_FIRST_IP = "127.0.0.2"


@functools.lru_cache(maxsize=COVER_POOL_SIZE)
def pooled_cover(index: int) -> Cover:
    """One of a fixed pool of distinct covers, generated on first use."""
    n = index % COVER_POOL_SIZE
    return generated_cover(f"Load {n:02d}", "Benchmark", f"load-cover-{n}", LOAD_COVER_SIZE_PIXELS)


def load_track(speaker_index: int, change: int) -> Track:
    """The change-th track of one speaker: a distinct uri (so a distinct art URL) and a pooled cover."""
    return Track(
        f"Load Track {change}",
        f"Speaker {speaker_index:03d}",
        "Benchmark",
        180,
        cover=pooled_cover(speaker_index * 7 + change),
    )


def load_addresses(count: int, first: str = DEFAULT_FIRST_IP) -> list[str]:
    """`count` consecutive loopback addresses from `first`, skipping .0 and .255 (confusing to humans)."""
    addresses: list[str] = []
    address = ipaddress.IPv4Address(first)
    while len(addresses) < count:
        if address.packed[-1] not in (0, 255):
            addresses.append(str(address))
        address += 1
    return addresses


def load_household(addresses: Sequence[str], household_id: str | None = None) -> Household:
    """A household with one standalone speaker per address, rooms `Load 001`, `Load 002`, ..."""
    household = Household(household_id)
    for n, ip in enumerate(addresses, start=1):
        household.add_speaker(ip, f"Load {n:03d}")
    return household


class LoadDriver(BackgroundChanges):
    """Changes every speaker's track every interval, staggered so changes spread over the interval."""

    thread_name = "fakesonos-load"

    def __init__(self, household: Household, interval_seconds: float = DEFAULT_LOAD_INTERVAL_SECONDS) -> None:
        if interval_seconds <= 0:
            raise ValueError("interval_seconds must be positive")
        super().__init__()
        self._household = household
        self._interval_seconds = interval_seconds
        self.changes = 0  # track changes made so far

    def _first(self) -> None:
        for index, speaker in enumerate(self._household.speakers):
            speaker.set_track(load_track(index, 0))

    def _run(self) -> None:
        speakers = self._household.speakers
        started = time.monotonic()
        stagger = self._interval_seconds / max(len(speakers), 1)
        # (due seconds after start, speaker index, change number)
        due: list[tuple[float, int, int]] = [
            (self._interval_seconds + index * stagger, index, 1) for index in range(len(speakers))
        ]
        heapq.heapify(due)
        while due:
            at_seconds, index, change = heapq.heappop(due)
            if self._stop.wait(max(0.0, started + at_seconds - time.monotonic())):
                return
            try:
                speakers[index].set_track(load_track(index, change))
                self.changes += 1
            except Exception:
                logger.exception("load change on %s failed", speakers[index].room)
            heapq.heappush(due, (at_seconds + self._interval_seconds, index, change + 1))
