"""`python -m bench.chaos` (`make chaos`): the whole stack under Pi-class limits, readers and faults.

Settings: CHAOS_MINUTES (30), CHAOS_SEED (random, printed), CHAOS_KINDS (every kind, comma-separated),
CHAOS_RESULTS (bench/results). Exit 0 when nothing was lost and no invariant broke, 1 when one did,
2 when the observer itself failed (then the run proves nothing).
"""

from __future__ import annotations

import os
import random
import sys
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from bench.chaos import faults as injectors
from bench.chaos import invariants, observer, report
from bench.chaos.household import Household, drive
from bench.chaos.schedule import KINDS, plan_changes, plan_faults, plan_groups
from harness.compose import COMPOSE_FILE, REPO_ROOT, ComposeStack, engine_unavailable_reason
from harness.net import free_port

ROOMS = {"living-room": "Living Room", "kitchen": "Kitchen", "office": "Office", "bedroom": "Bedroom"}
FILES = (COMPOSE_FILE, "docker-compose.pi.yml", "docker-compose.chaos.yml")
CACHE_MAX_MB = 24  # below the chaos override's 64 MB volume, so the LRU bound is what keeps it small
PANELS = (  # the household's displays: the two Qualia panels of the original setup, and two more
    observer.Panel("living-room", "square720.bmp", (720, 720)),
    observer.Panel("kitchen", "bar320x960.bmp", (320, 960)),
    observer.Panel("office", "jpeg720.jpg", (720, 720)),
    observer.Panel("kitchen", "jpeg720.jpg", (720, 720)),
)
POLLER_IMAGE = "sonos-artwork-poller:local"


@dataclass(frozen=True)
class ChaosSettings:
    """The run's settings, from the environment."""

    minutes: float
    seed: int
    kinds: tuple[str, ...]
    results: Path

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> ChaosSettings:
        """Read CHAOS_*; ValueError naming a bad one."""
        kinds = tuple(k.strip() for k in environ.get("CHAOS_KINDS", "").split(",") if k.strip()) or tuple(
            KINDS
        )
        unknown = [k for k in kinds if k not in KINDS]
        if unknown:
            raise ValueError(f"CHAOS_KINDS: unknown {unknown}; known: {', '.join(KINDS)}")
        seed_text = environ.get("CHAOS_SEED", "")
        return cls(
            minutes=float(environ.get("CHAOS_MINUTES", "30")),
            seed=int(seed_text) if seed_text else random.SystemRandom().randrange(1, 10**6),
            kinds=kinds,
            results=Path(environ.get("CHAOS_RESULTS", str(REPO_ROOT / "bench" / "results"))),
        )

    def repeat_command(self) -> str:
        """The command that repeats this run's schedule exactly."""
        kinds = "" if set(self.kinds) == set(KINDS) else f" CHAOS_KINDS={','.join(self.kinds)}"
        return f"CHAOS_SEED={self.seed} CHAOS_MINUTES={self.minutes:g}{kinds} make chaos"


def new_stack() -> ComposeStack:
    """The production compose file with the Pi and chaos overrides, four rooms and bonded speakers."""
    block = f"127.0.{150 + os.getpid() % 40}"
    household = f"Sonos_chaos{uuid.uuid4().hex[:12]}"
    speakers = [f"{block}.{n}={room}" for n, room in enumerate(ROOMS.values(), start=2)]
    speakers += [f"{block}.8=Living Room+sub", f"{block}.9=Kitchen+right"]
    env = {
        "REDIS_HOST_PORT": str(free_port()),
        "ARTWORK_PORT": str(free_port()),
        "FAKESONOS_CONTROL_PORT": str(free_port()),
        "FAKESONOS_DEMO": "off",
        "FAKESONOS_SPEAKERS": ",".join(speakers),
        "FAKESONOS_HOUSEHOLD_ID": household,
        "SONOS_HOUSEHOLD": household,
        "SONOS_SPEAKERS": ",".join(f"{block}.{n}" for n in range(2, 2 + len(ROOMS))),
        "DEFAULT_ZONE": "living-room",
        "CACHE_MAX_MB": str(CACHE_MAX_MB),
    }
    return ComposeStack(project=f"sonosart-chaos-{os.getpid()}", env=env, files=FILES)


def _thread(target: Callable[..., None], *args: object) -> threading.Thread:
    thread = threading.Thread(
        target=target, args=args, daemon=True, name=getattr(target, "__name__", "chaos")
    )
    thread.start()
    return thread


def campaign(settings: ChaosSettings, stack: ComposeStack) -> int:
    """Run the campaign on a running stack; write the results; the exit code."""
    ids = {service: stack.container_id(service) for service in observer.SERVICES}
    limits = {s: stack.memory_limit_bytes(s) / 2**20 for s in observer.SERVICES}
    endpoints = observer.Endpoints(int(stack.env["ARTWORK_PORT"]), int(stack.env["REDIS_HOST_PORT"]))
    zones = list(ROOMS)
    record = observer.Record()
    household = Household(int(stack.env["FAKESONOS_CONTROL_PORT"]), record, zones)
    fault_plan = plan_faults(settings.seed, settings.minutes, settings.kinds, len(zones) - 1)
    change_plan = plan_changes(settings.seed, settings.minutes, len(zones))
    group_plan = plan_groups(settings.minutes)
    oom_windows = [
        (f.at_seconds, f.at_seconds + f.duration_seconds + 120) for f in fault_plan if f.kind == "poller_oom"
    ]

    def excused(service: str, at: float) -> bool:
        return service == "poller" and any(start <= at <= end for start, end in oom_windows)

    stop = threading.Event()
    faults: list[invariants.Fault] = []
    for zone in zones:
        household.change(zone)
    threads = [
        _thread(observer.watch_redis, record, endpoints, zones, stop),
        _thread(observer.watch_http, record, endpoints, zones, stop),
        _thread(observer.watch_containers, record, ids, stop),
        _thread(observer.watch_memory, record, ids, limits, excused, stop),
        _thread(observer.watch_volume, record, lambda: ids["artwork"], CACHE_MAX_MB, 300.0, stop),
        *(_thread(observer.display_client, record, endpoints, panel, stop) for panel in PANELS),
        *(_thread(observer.event_stream, record, endpoints, room, stop) for room in zones[:2]),
        *(_thread(observer.legacy_poller, record, endpoints, f"qualia{n}", stop) for n in (1, 2)),
        _thread(drive, household, change_plan, group_plan, stop),
    ]
    target = injectors.Stack(ids.__getitem__, f"{stack.project}_artwork", POLLER_IMAGE, endpoints)
    injector = injectors.Injector(target, household, record, stop)
    fault_thread = _thread(injectors.run_faults, injector, fault_plan, faults, stop)
    threads.append(fault_thread)
    print(
        f"chaos: {settings.minutes:g} min, seed {settings.seed}, {len(fault_plan)} faults, "
        f"{len(change_plan)} changes planned; repeat with: {settings.repeat_command()}",
        flush=True,
    )
    stop.wait(settings.minutes * 60)
    # A wedge lasts until the stack ends it, so faults may run past the plan: each still gets its
    # full time to recover before the run ends.
    fault_thread.join(timeout=300)
    last_end = max((f.ended for f in faults), default=0.0)
    stop.wait(max(0.0, last_end + invariants.RECOVERY_LIMIT_SECONDS + 5 - record.now()))
    stop.set()
    ended = record.now()  # before the readers' last requests run out
    for thread in threads:
        thread.join(timeout=40)

    timeline = invariants.Timeline(
        household.changes,
        record.seen,
        faults,
        record.health,
        household.grouped,
        household.member,
        ended,
    )
    lost, violations = invariants.lost_and_late(timeline)
    table, unrecovered = invariants.recoveries(timeline)
    violations += unrecovered + invariants.regressions(record.seen) + record.violations
    violations += invariants.unexpected_restarts(record.restarts, timeline)
    violations += [
        invariants.Violation(at, 6, f"{service} was OOM-killed outside the memory fault")
        for at, service in record.oom_kills if not excused(service, at)
    ]  # fmt: skip
    violations.sort(key=lambda v: v.at)
    errors = [f"{type(err).__name__}: {err}" for err in record.failures]
    document = report.summary(
        minutes=settings.minutes, seed=settings.seed, kinds=settings.kinds,
        changes_made=len(household.changes), changes_lost=lost, violations=violations,
        recoveries=table, record=record, limits_mib=limits, errors=errors, faults=faults,
    )  # fmt: skip
    report.write(settings.results, document, settings.repeat_command(), record, faults)
    print(report.markdown(document, settings.repeat_command()), flush=True)
    if errors:
        print(f"chaos: the observer failed, the run proves nothing: {errors}", file=sys.stderr)
        return 2
    if lost or violations:
        print(
            f"chaos: FAILED with seed {settings.seed}; repeat: {settings.repeat_command()}", file=sys.stderr
        )
        return 1
    return 0


def main() -> int:
    """Bring the stack up, run the campaign, always tear the stack down."""
    try:
        settings = ChaosSettings.from_env(os.environ)
    except ValueError as err:
        print(f"chaos: {err}", file=sys.stderr)
        return 2
    reason = engine_unavailable_reason()
    if reason is not None:
        print(f"chaos: needs a Docker engine with Compose v2: {reason}", file=sys.stderr)
        return 2
    stack = new_stack()
    began = time.monotonic()
    try:
        stack.up()
        print(f"chaos: stack healthy in {time.monotonic() - began:.0f} s", flush=True)
        return campaign(settings, stack)
    except (RuntimeError, OSError) as err:
        print(f"chaos: {err}\nrepeat: {settings.repeat_command()}", file=sys.stderr)
        return 2
    finally:
        stack.down()


if __name__ == "__main__":
    sys.exit(main())
