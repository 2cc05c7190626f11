"""Fault injection: each planned fault is started, held for its duration and cleared here."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from bench.chaos.household import Household
from bench.chaos.invariants import Fault
from bench.chaos.observer import Endpoints, ObserverError, Record, docker, get
from bench.chaos.schedule import KINDS, PlannedFault

ART_FAULTS = {
    "art_404": "NOT_FOUND",
    "art_500": "SERVER_ERROR",
    "art_slow_drip": "SLOW_DRIP",
    "art_50mb": "HUGE_BODY",
    "art_bomb": "BOMB",
    "art_truncated": "TRUNCATED_JPEG",
    "art_not_an_image": "NOT_AN_IMAGE",
    "art_redirect_loop": "REDIRECT_LOOP",
}
SPEAKER_FAULTS = {"speaker_offline": "OFFLINE", "speaker_hang": "HANG", "upnp_off": "UPNP_DISABLED"}

# Runs inside a service's container (its image has Python): signal the process whose command line
# holds argv[1] and that is the main process (parent: the init) or, with "worker", a child of it.
SIGNAL_SCRIPT = """
import os, sys
want, signum, worker = sys.argv[1], int(sys.argv[2]), sys.argv[3] == "worker"
for pid in sorted(int(p) for p in os.listdir("/proc") if p.isdigit()):
    if pid in (1, os.getpid()):
        continue
    try:
        command = open(f"/proc/{pid}/cmdline", "rb").read().replace(b"\\0", b" ").decode()
        parent = int(open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()[1])
    except OSError:
        continue
    if want in command and (parent not in (0, 1) if worker else parent == 1):
        os.kill(pid, signum)
        print(pid)
        break
else:
    sys.exit(f"no process like {want!r}")
"""
FILL_SCRIPT = """
import os, sys
path = sys.argv[1]
if sys.argv[2] == "clear":
    os.remove(path)
    sys.exit()
chunk = bytes(1 << 20)
with open(path, "wb", buffering=0) as out:
    try:
        while True:
            out.write(chunk)
    except OSError:
        pass
print(os.path.getsize(path))
"""
FLOOD_SLOW_CONNECTIONS = 60
FLOOD_BURST_THREADS = 6


@dataclass
class Stack:
    """What the injectors act on."""

    container: Callable[[str], str]  # service -> container id (it changes only if recreated)
    volume: str
    poller_image: str
    endpoints: Endpoints


class Injector:
    """Starts, holds and clears one planned fault at a time; returns what happened."""

    def __init__(self, stack: Stack, household: Household, record: Record, stop: threading.Event) -> None:
        self.stack = stack
        self.household = household
        self.record = record
        self.stop = stop

    def run(self, planned: PlannedFault) -> Fault:
        """Inject, hold for the planned duration (cut short by `stop`), clear."""
        kind = KINDS[planned.kind]
        zones = [z for z in self.household.playing_zones() if z != self.household.member] or [
            self.household.zones[0]
        ]
        zone = zones[planned.target % len(zones)]
        injected = self.record.now()
        clear = self._inject(planned.kind, zone, planned.duration_seconds)
        self.stop.wait(planned.duration_seconds)
        if planned.kind == "poller_stop":
            # Nothing outside the stack ends a wedge: it lasts until the product restarts the poller.
            self._wait_for_restart("poller", injected)
        if clear is not None:
            clear()
        return Fault(planned.kind, zone, injected, self.record.now(), kind.blocks, kind.heals)

    def _wait_for_restart(self, service: str, since: float, timeout_seconds: float = 240) -> None:
        deadline = time.monotonic() + timeout_seconds
        while time.monotonic() < deadline and not self.stop.is_set():
            with self.record.lock:
                if any(at >= since and name == service for at, name in self.record.restarts):
                    return
            self.stop.wait(0.5)

    def _inject(self, kind: str, zone: str, duration_seconds: float) -> Callable[[], None] | None:
        if kind in SPEAKER_FAULTS:
            self.household.speaker_fault(zone, SPEAKER_FAULTS[kind])
            return lambda: self.household.speaker_fault(zone, None)
        if kind == "speaker_reboot":
            self.household.reboot(zone, duration_seconds)
            return None
        if kind in ART_FAULTS:
            self.household.change(zone, art_fault=ART_FAULTS[kind])
            return None
        if kind == "redis_restart":
            docker("restart", "-t", "5", self.stack.container("redis"))
            return None
        if kind == "redis_kill":
            docker("exec", self.stack.container("redis"), "sh", "-c", "kill -9 $(pidof redis-server)")
            return None
        if kind in ("poller_kill", "poller_stop"):
            self._signal("poller", "poller", 9 if kind == "poller_kill" else 19)
            return None
        if kind == "artwork_worker_kill":
            self._signal("artwork", "gunicorn", 9, worker=True)
            return None
        if kind == "artwork_restart":
            docker("restart", "-t", "10", self.stack.container("artwork"))
            return None
        if kind == "volume_full":
            self._volume("fill")
            return lambda: self._volume("clear")
        if kind == "client_flood":
            return flood(self.stack.endpoints, self.record)
        if kind == "poller_oom":
            return self._huge_art()
        raise ValueError(f"no injector for {kind}")

    def _signal(self, service: str, command: str, signum: int, *, worker: bool = False) -> None:
        # From inside: `docker kill -s` would switch the restart policy off on Docker 20.10.
        role = "worker" if worker else "main"
        docker(
            "exec", self.stack.container(service), "python", "-c", SIGNAL_SCRIPT, command, str(signum), role
        )

    def _volume(self, action: str) -> None:
        # A throwaway container on the same volume, as root: it works whatever state the poller is in.
        docker(
            "run", "--rm", "--user", "0", "--network", "none", "--entrypoint", "python",
            "-v", f"{self.stack.volume}:/v", self.stack.poller_image,
            "-c", FILL_SCRIPT, "/v/.chaos-fill", action,
            timeout_seconds=120,
        )  # fmt: skip

    def _huge_art(self) -> Callable[[], None]:
        # Covers of 36 megapixels in ~100 KB each, on every playing zone at once: ~100 MiB each decoded.
        zones = self.household.playing_zones()
        for zone in zones:
            self.household.change(zone, art_fault="HUGE_PIXELS")

        def clear() -> None:
            for zone in zones:
                self.household.change(zone)

        return clear


def flood(endpoints: Endpoints, record: Record) -> Callable[[], None]:
    """Slowloris connections that never finish their heads, and threads asking as fast as they can."""
    done = threading.Event()
    slow: list[socket.socket] = []
    for _ in range(FLOOD_SLOW_CONNECTIONS):
        try:
            sock = socket.create_connection(("127.0.0.1", endpoints.http_port), timeout=2)
            sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: chaos\r\n")
            slow.append(sock)
        except OSError:
            break

    def burst() -> None:
        while not done.is_set():
            try:
                status, _, _ = get(endpoints.http_port, "/api/zones", timeout_seconds=5)
            except OSError:
                continue
            record.status(status, "/api/zones (flood)", flood=True)

    threads = [threading.Thread(target=burst, daemon=True) for _ in range(FLOOD_BURST_THREADS)]
    for thread in threads:
        thread.start()

    def clear() -> None:
        done.set()
        for thread in threads:
            thread.join(timeout=10)
        for sock in slow:
            sock.close()

    return clear


def run_faults(
    injector: Injector, plan: Sequence[PlannedFault], faults: list[Fault], stop: threading.Event
) -> None:
    """Each planned fault at its time (later if the one before ran over), until the plan ends or `stop`."""
    try:
        for planned in plan:
            if stop.wait(max(0.0, planned.at_seconds - injector.record.now())):
                return
            began = time.monotonic()
            faults.append(injector.run(planned))
            print(
                f"chaos: {faults[-1].kind} on {faults[-1].zone} for {time.monotonic() - began:.0f} s",
                flush=True,
            )
    except ObserverError as err:
        injector.record.failures.append(err)
        stop.set()
