"""The original design's loop, the idle-cost baseline: discover, then read track info every second.

`python -m bench.legacy_loop IP [IP ...]` finds the zones through the seed speakers (what
`soco.discover()` returns, without multicast), then calls `get_current_track_info()` on every
zone coordinator once a second until it is terminated.
"""

from __future__ import annotations

import signal
import sys
import threading

import soco


def main(seeds: list[str]) -> int:
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    zones = set()
    for ip in seeds:
        zones |= {zone.group.coordinator for zone in soco.SoCo(ip).all_zones}
    while not stop.wait(1.0):
        for coordinator in zones:
            coordinator.get_current_track_info()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
