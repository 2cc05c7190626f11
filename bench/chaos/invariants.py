"""The campaign's verdict, from what was recorded: lost or late changes, regressions, recovery times.

Pure functions over the run's record (times are seconds since the run began), so each rule has a
unit test of its own. The recording itself is in `bench.chaos.observer`.
"""

from __future__ import annotations

import bisect
import re
import statistics
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from bench.chaos.schedule import Blocks

GRACE_SECONDS = 5.0  # a change shows within this of being made, or of the end of what blocked it
RECOVERY_LIMIT_SECONDS = 60.0
TITLE_RE = re.compile(r"^(?P<zone>[a-z0-9-]+) #(?P<seq>\d+)$")


def change_title(zone: str, seq: int) -> str:
    """The title a change carries, from which any reader can tell which change it sees."""
    return f"{zone} #{seq}"


def parse_title(title: str) -> tuple[str, int] | None:
    """(zone, seq) of a title `change_title` made, else None (placeholders, stations, idle rooms)."""
    match = TITLE_RE.match(title)
    return (match["zone"], int(match["seq"])) if match else None


@dataclass(frozen=True)
class Change:
    """The household changed `zone` to its change number `seq` at `at`."""

    at: float
    zone: str
    seq: int


@dataclass(frozen=True)
class Seen:
    """A reader (`stream`: redis, http, sse, display...) saw change `seq` of `zone` at `at`."""

    at: float
    stream: str
    zone: str
    seq: int


@dataclass(frozen=True)
class Fault:
    """A fault as it happened: injected, ended (cleared by the campaign), and what it blocked."""

    kind: str
    zone: str
    injected: float
    ended: float
    blocks: Blocks
    heals: str = ""


@dataclass(frozen=True)
class Health:
    """Every service's health at `at` (True: running and healthy)."""

    at: float
    healthy: dict[str, bool]


@dataclass(frozen=True)
class Violation:
    """An invariant (1..6, as numbered in the issue) broken at `at`."""

    at: float
    invariant: int
    detail: str


@dataclass
class Timeline:
    """Everything recorded, with lookups the rules share."""

    changes: list[Change]
    seen: list[Seen]
    faults: list[Fault]
    health: list[Health]
    grouped: list[tuple[float, float]]  # when the member room was in another group
    member: str
    end: float
    _seen_by: dict[tuple[str, str], list[Seen]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        by: dict[tuple[str, str], list[Seen]] = defaultdict(list)
        for item in sorted(self.seen, key=lambda s: s.at):
            by[(item.stream, item.zone)].append(item)
        self._seen_by = dict(by)

    def healthy_from(self, at: float, service: str = "") -> float | None:
        """The first time at or after `at` that the service (every service if "") was healthy."""
        for sample in self.health:
            if sample.at >= at and (
                sample.healthy.get(service, False) if service else all(sample.healthy.values())
            ):
                return sample.at
        return None

    def block_end(self, fault: Fault) -> float:
        """When the fault stopped blocking: its end, or once the service it broke is healthy again."""
        if not fault.heals:
            return fault.ended
        healed = self.healthy_from(fault.ended, fault.heals)
        return healed if healed is not None else self.end

    def is_grouped(self, zone: str, at: float) -> bool:
        """Whether `zone` is the member room, inside another group at `at`."""
        return zone == self.member and any(start <= at <= end for start, end in self.grouped)

    def first_seen(self, stream: str, zone: str, seq: int, after: float) -> float | None:
        """When `stream` first showed change `seq` of `zone`, or a later one, at or after `after`."""
        items = self._seen_by.get((stream, zone), [])
        start = bisect.bisect_left([s.at for s in items], after)
        return next((s.at for s in items[start:] if s.seq >= seq), None)


def blocking(fault: Fault, zone: str, stream: str) -> bool:
    """Whether the fault holds back `zone`'s changes on `stream` ("redis" or "http")."""
    if fault.blocks is Blocks.EVERYTHING:
        return True
    if fault.blocks is Blocks.ZONE:
        return fault.zone == zone
    return fault.blocks is Blocks.HTTP and stream == "http"


def deadline(timeline: Timeline, change: Change, stream: str) -> float:
    """When `change` must show on `stream`: 5 s after it was made, or after what blocked it ended."""
    until = change.at
    while True:
        extended = until
        for fault in timeline.faults:
            if blocking(fault, change.zone, stream) and fault.injected <= until + GRACE_SECONDS:
                end = timeline.block_end(fault)
                if end > extended and end >= change.at:
                    extended = end
        if extended == until:
            return until + GRACE_SECONDS
        until = extended


def _superseded_at(timeline: Timeline, change: Change, later: Sequence[Change]) -> float:
    """When the zone moved on: its next change, or the member room joining a group."""
    moved = [c.at for c in later if c.zone == change.zone and c.seq > change.seq][:1]
    moved += [start for start, _ in timeline.grouped if change.zone == timeline.member and start > change.at]
    return min(moved, default=timeline.end)


def lost_and_late(
    timeline: Timeline, streams: Iterable[str] = ("redis", "http")
) -> tuple[int, list[Violation]]:
    """Invariant 1: the number of changes lost; a violation for each lost or late one."""
    lost: set[Change] = set()
    violations = []
    changes = sorted(timeline.changes, key=lambda c: c.at)
    for n, change in enumerate(changes):
        moved = _superseded_at(timeline, change, changes[n + 1 :])
        for stream in streams:
            due = deadline(timeline, change, stream)
            if moved <= due or due > timeline.end:
                continue  # replaced, or the run ended, before it had to show
            shown = timeline.first_seen(stream, change.zone, change.seq, change.at)
            if shown is None or shown > moved:
                lost.add(change)
                violations.append(
                    Violation(change.at, 1, f"{change.zone} #{change.seq} never shown on {stream}")
                )
            elif shown > due:
                violations.append(
                    Violation(
                        change.at, 1, f"{change.zone} #{change.seq} on {stream} {shown - due:.1f} s late"
                    )
                )
    return len(lost), violations


def regressions(seen: Iterable[Seen]) -> list[Violation]:
    """Invariant 3: a reader that saw change n of a zone never shows an older one afterwards."""
    newest: dict[tuple[str, str], int] = {}
    violations = []
    for item in sorted(seen, key=lambda s: s.at):
        key = (item.stream, item.zone)
        if item.seq < newest.get(key, -1):
            violations.append(
                Violation(
                    item.at, 3, f"{item.stream} went back from {item.zone} #{newest[key]} to #{item.seq}"
                )
            )
        newest[key] = max(newest.get(key, -1), item.seq)
    return violations


def recovered_at(
    timeline: Timeline, fault: Fault, streams: Iterable[str] = ("redis", "http")
) -> float | None:
    """When every service was healthy and every zone showed what it played when the fault ended."""
    start = timeline.block_end(fault)
    healthy = timeline.healthy_from(start)
    if healthy is None:
        return None
    caught_up = healthy
    latest: dict[str, Change] = {}
    for change in timeline.changes:
        if change.at <= start:
            latest[change.zone] = change
    for zone, change in latest.items():
        for stream in streams:
            if timeline.is_grouped(zone, start):
                continue
            shown = timeline.first_seen(stream, zone, change.seq, change.at)
            if shown is None:
                return None
            caught_up = max(caught_up, shown)
    return max(caught_up, start)


@dataclass(frozen=True)
class Recovery:
    """One fault kind over the run, for the report."""

    kind: str
    injected: int
    recovered: int
    seconds: list[float]

    def as_json(self) -> dict[str, object]:
        """The report's `faults` entry."""
        values = sorted(self.seconds)
        return {
            "kind": self.kind,
            "injected": self.injected,
            "recovered": self.recovered,
            "recover_s_p50": round(statistics.median(values), 1) if values else None,
            "recover_s_p95": round(values[min(len(values) - 1, int(len(values) * 0.95))], 1)
            if values
            else None,
            "recover_s_max": round(values[-1], 1) if values else None,
        }


def last_end_before(timeline: Timeline, fault: Fault, until: float) -> float:
    """The end of this fault or of any later one injected before the stack had recovered from it.

    Faults overlap in a chaos run: a poller killed again before it was healthy recovers from the
    second kill, so its time is counted from the end of that one.
    """
    overlapping = [f.ended for f in timeline.faults if fault.injected <= f.injected < until]
    return max([fault.ended, *overlapping])


def recoveries(timeline: Timeline) -> tuple[list[Recovery], list[Violation]]:
    """Invariant 5 per fault kind: recovered within 60 s of its end, and how long it took."""
    by_kind: dict[str, list[float | None]] = defaultdict(list)
    violations = []
    for fault in timeline.faults:
        at = recovered_at(timeline, fault)
        took = None if at is None else at - last_end_before(timeline, fault, at)
        by_kind[fault.kind].append(took)
        if took is None or took > RECOVERY_LIMIT_SECONDS:
            what = "never recovered" if took is None else f"recovered after {took:.0f} s"
            violations.append(
                Violation(fault.ended, 5, f"{fault.kind} on {fault.zone or 'the stack'} {what}")
            )
    table = [
        Recovery(kind, len(times), sum(t is not None and t <= RECOVERY_LIMIT_SECONDS for t in times),
                 [t for t in times if t is not None])
        for kind, times in sorted(by_kind.items())
    ]  # fmt: skip
    return table, violations


def unexpected_restarts(restarts: Iterable[tuple[float, str]], timeline: Timeline) -> list[Violation]:
    """Invariant 5: a container restarted only because a fault meant it to (no crash loops elsewhere)."""
    violations = []
    for at, service in restarts:
        expected = any(
            fault.heals == service and fault.injected - 1 <= at <= timeline.block_end(fault) + 5
            for fault in timeline.faults
        )
        if not expected:
            violations.append(Violation(at, 5, f"{service} restarted with no fault meant to restart it"))
    return violations
