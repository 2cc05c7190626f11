"""What the campaign will do, decided up front from the seed: faults, track changes and regroups.

Pure: the same seed, length and kinds give the same plan, so a failing run can be repeated exactly.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from enum import StrEnum


class Blocks(StrEnum):
    """What a fault keeps from reaching the glass while it lasts."""

    NOTHING = "nothing"  # changes must still show within the usual 5 s
    ZONE = "zone"  # its target zone's changes wait for it to end
    EVERYTHING = "everything"  # every zone's changes, in Redis and on HTTP
    HTTP = "http"  # HTTP answers only; Redis keeps up


@dataclass(frozen=True)
class FaultKind:
    """One kind of fault: how long it lasts and what it blocks."""

    name: str
    min_seconds: float
    max_seconds: float
    blocks: Blocks
    # The service whose health ends the block (it restarts, or is restarted, because of the fault).
    heals: str = ""


def _kinds(*kinds: FaultKind) -> dict[str, FaultKind]:
    return {kind.name: kind for kind in kinds}


KINDS = _kinds(
    FaultKind("speaker_offline", 8, 20, Blocks.ZONE),
    FaultKind("speaker_hang", 8, 20, Blocks.ZONE),
    FaultKind("speaker_reboot", 5, 12, Blocks.ZONE),
    FaultKind("upnp_off", 8, 20, Blocks.ZONE),
    FaultKind("art_404", 0, 0, Blocks.NOTHING),
    FaultKind("art_500", 0, 0, Blocks.NOTHING),
    # Slow or huge art is given up at ART_TIMEOUT_SECONDS (10 s) or ART_MAX_BYTES: it blocks that long.
    FaultKind("art_slow_drip", 10, 10, Blocks.ZONE),
    FaultKind("art_50mb", 10, 10, Blocks.ZONE),
    FaultKind("art_bomb", 0, 0, Blocks.NOTHING),
    FaultKind("art_truncated", 0, 0, Blocks.NOTHING),
    FaultKind("art_not_an_image", 0, 0, Blocks.NOTHING),
    FaultKind("art_redirect_loop", 0, 0, Blocks.NOTHING),
    FaultKind("redis_restart", 0, 0, Blocks.EVERYTHING, heals="redis"),
    FaultKind("redis_kill", 0, 0, Blocks.EVERYTHING, heals="redis"),
    FaultKind("poller_kill", 0, 0, Blocks.EVERYTHING, heals="poller"),
    FaultKind("poller_stop", 0, 0, Blocks.EVERYTHING, heals="poller"),
    FaultKind("poller_oom", 20, 20, Blocks.EVERYTHING, heals="poller"),
    FaultKind("artwork_worker_kill", 0, 0, Blocks.NOTHING),
    FaultKind("artwork_restart", 0, 0, Blocks.HTTP, heals="artwork"),
    FaultKind("volume_full", 15, 25, Blocks.EVERYTHING),
    FaultKind("client_flood", 15, 20, Blocks.HTTP),
)
# The CI run: one of each family, short enough for two minutes.
SHORT_KINDS = ("speaker_offline", "art_bomb", "redis_kill", "poller_kill", "artwork_worker_kill")

WARMUP_SECONDS = 20.0  # the stack settles and every reader connects before the first fault
COOLDOWN_SECONDS = 75.0  # the last fault still gets its 60 s to recover inside the run
MEAN_CHANGE_INTERVAL_SECONDS = 5.0  # per zone, as the "busy pace"
BURST_EVERY_SECONDS = 60.0
BURST_CHANGES = 5
GROUP_EVERY_SECONDS = 90.0
GROUPED_SECONDS = 30.0
SOURCES = ("library", "library", "library", "library", "radio", "line_in", "tv")


@dataclass(frozen=True)
class PlannedFault:
    """A fault to inject `at_seconds` into the run, on the zone `target` (an index) where it has one."""

    at_seconds: float
    kind: str
    duration_seconds: float
    target: int


@dataclass(frozen=True)
class PlannedChange:
    """A track change `at_seconds` into the run on zone `zone` (an index), from `source`."""

    at_seconds: float
    zone: int
    source: str


@dataclass(frozen=True)
class PlannedGroup:
    """Member joins coordinator's group at `at_seconds` and leaves it `seconds` later."""

    at_seconds: float
    seconds: float


def plan_faults(seed: int, minutes: float, kinds: tuple[str, ...], zones: int) -> list[PlannedFault]:
    """Every kind several times (as often as fits), shuffled, spread over the run with jitter."""
    rng = random.Random(f"faults/{seed}")
    usable = minutes * 60 - WARMUP_SECONDS - COOLDOWN_SECONDS
    if usable <= 0:
        raise ValueError(f"{minutes} minutes leave no time for faults")
    rounds = max(1, min(3, int(usable // (len(kinds) * 20))))
    order = [kind for _ in range(rounds) for kind in kinds]
    rng.shuffle(order)
    spacing = usable / len(order)
    plan = []
    for n, name in enumerate(order):
        kind = KINDS[name]
        at = WARMUP_SECONDS + spacing * (n + rng.uniform(0.0, 0.5))
        duration = round(rng.uniform(kind.min_seconds, kind.max_seconds), 1)
        plan.append(PlannedFault(round(at, 2), name, duration, rng.randrange(zones)))
    return plan


def plan_changes(seed: int, minutes: float, zones: int) -> list[PlannedChange]:
    """About one change per zone every 5 s (exponential gaps), plus a burst on one zone every minute."""
    rng = random.Random(f"changes/{seed}")
    end = minutes * 60
    plan = []
    for zone in range(zones):
        at = rng.uniform(1, MEAN_CHANGE_INTERVAL_SECONDS)
        while at < end:
            plan.append(PlannedChange(round(at, 2), zone, rng.choice(SOURCES)))
            at += rng.expovariate(1 / MEAN_CHANGE_INTERVAL_SECONDS)
    burst_at = BURST_EVERY_SECONDS / 2
    while burst_at < end:
        zone = rng.randrange(zones)
        plan += [PlannedChange(round(burst_at + n * 0.2, 2), zone, "library") for n in range(BURST_CHANGES)]
        burst_at += BURST_EVERY_SECONDS
    return sorted(plan, key=lambda change: (change.at_seconds, change.zone))


def plan_groups(minutes: float) -> list[PlannedGroup]:
    """The member room joins the first zone's group every 90 s for 30 s."""
    end = minutes * 60 - COOLDOWN_SECONDS
    plan = []
    at = GROUP_EVERY_SECONDS / 2
    while at + GROUPED_SECONDS < end:
        plan.append(PlannedGroup(at, GROUPED_SECONDS))
        at += GROUP_EVERY_SECONDS
    return plan
