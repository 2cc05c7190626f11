"""The demo stack on a real Docker engine: discovery, load, crashes, stalls, a Redis restart and a stop.

The tests of this module share one stack (the suite runs with `--dist loadfile`) and run in file
order: the memory tests first, on fresh containers; the stop test last.
"""

from __future__ import annotations

import http.client
import io
import json
import re
import shutil
import subprocess
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from harness.compose import REPO_ROOT, ComposeStack, MemorySampler, running_stack
from harness.waiting import wait_for
from tests.e2e.conftest import SPEAKER_BLOCK, new_stack, require_engine

pytestmark = [pytest.mark.compose, pytest.mark.timeout(300)]

ZONES = {"living-room": "Living Room", "kitchen": "Kitchen"}
SERVICES = ("redis", "poller", "artwork", "fakesonos")
HOUSEHOLD = f"Sonos_e2e{uuid.uuid4().hex[:12]}"
LOAD_SECONDS = 30
LOAD_CONNECTIONS = 10
BURST_CHANGES = 500
ARTIFACTS = REPO_ROOT / "tests" / "artifacts"
MEASURED: dict[str, Any] = {}
MIB = 1024 * 1024


@pytest.fixture(scope="module")
def stack() -> Iterator[ComposeStack]:
    """The demo profile as a newcomer runs it: no SONOS_SPEAKERS, the poller finds fakesonos by SSDP.

    SONOS_HOUSEHOLD pins this stack's own emulated household, since other tests' SSDP responders
    answer on the same host.
    """
    require_engine()
    speakers = [f"{SPEAKER_BLOCK}.{n}={room}" for n, room in enumerate(ZONES.values(), start=2)]
    # A stereo pair and a sub, which must never show up as rooms.
    speakers += [f"{SPEAKER_BLOCK}.4=Kitchen+right", f"{SPEAKER_BLOCK}.5=Living Room+sub"]
    settings = {
        "FAKESONOS_SPEAKERS": ",".join(speakers),
        "FAKESONOS_HOUSEHOLD_ID": HOUSEHOLD,
        "FAKESONOS_SSDP": "on",
        "SONOS_HOUSEHOLD": HOUSEHOLD,
    }
    with running_stack(new_stack("demo", settings)) as running:
        yield running
    if MEASURED:
        ARTIFACTS.mkdir(exist_ok=True)
        (ARTIFACTS / "e2e-memory.json").write_text(json.dumps(MEASURED, indent=2) + "\n")


# --- helpers -------------------------------------------------------------------------------------


def http_get(url: str, timeout_seconds: float = 5) -> tuple[int, bytes]:
    with urllib.request.urlopen(url, timeout=timeout_seconds) as response:
        return response.status, response.read()


def artwork_url(stack: ComposeStack, path: str) -> str:
    return f"http://127.0.0.1:{stack.env['ARTWORK_PORT']}{path}"


def control(stack: ComposeStack) -> http.client.HTTPConnection:
    return http.client.HTTPConnection("127.0.0.1", int(stack.env["FAKESONOS_CONTROL_PORT"]), timeout=10)


def set_track(
    stack: ComposeStack, zone: str, title: str, connection: http.client.HTTPConnection | None = None
):
    body = json.dumps({"title": title, "artist": "E2E Artist", "album": "E2E Album"})
    conn = connection or control(stack)
    try:
        conn.request("POST", f"/speakers/{zone}/track", body, {"Content-Type": "application/json"})
        response = conn.getresponse()
        response.read()
        assert response.status == 200, response.status
    finally:
        if connection is None:
            conn.close()


def zone_title(stack: ComposeStack, zone: str) -> str:
    return stack.redis_hash(f"sonos:zone:{zone}").get("title", "")


def restart_count(stack: ComposeStack, service: str) -> int:
    return int(stack.inspect(service)["RestartCount"])


def wait_healthy(stack: ComposeStack, timeout_seconds: float = 90) -> None:
    expected = {name: "healthy" for name in SERVICES}
    wait_for(
        lambda: stack.health() == expected,
        timeout_seconds=timeout_seconds,
        interval_seconds=1,
        what=lambda: f"every service healthy, got {stack.health()}\n{stack.logs()}",
    )


def wait_reasserted(stack: ComposeStack, since: float, timeout_seconds: float = 90) -> dict[str, Any]:
    """Every zone written after `since` (unix seconds) by a poller started after it; its heartbeat."""

    def probe() -> dict[str, Any] | None:
        beat = stack.redis_json("sonos:poller")
        if beat is None or beat["started_at"] < since * 1000:
            return None
        if set(stack.redis_cli("--raw", "SMEMBERS", "sonos:zones").split()) != set(ZONES):
            return None
        for zone in ZONES:
            fields = stack.redis_hash(f"sonos:zone:{zone}")
            if int(fields.get("updated_at", "0")) < since * 1000 or not fields.get("images"):
                return None
        return beat

    return wait_for(
        probe,
        timeout_seconds=timeout_seconds,
        interval_seconds=1,
        what=lambda: f"every zone re-asserted after {since:.0f}\n{stack.logs('poller', 'redis')}",
    )


def poller_pid(stack: ComposeStack) -> int:
    beat = stack.redis_json("sonos:poller")
    assert beat is not None, stack.logs("poller")
    return int(beat["pid"])


def record_memory(stack: ComposeStack, service: str, sampler: MemorySampler, label: str) -> tuple[int, int]:
    """Note the measurement (printed, and in tests/artifacts/e2e-memory.json); (peak RSS, limit)."""
    limit = stack.memory_limit_bytes(service)
    cgroup_peak = stack.peak_memory_bytes(service)  # page cache included: it is reclaimed at the limit
    hwm = stack.process_peak_rss_bytes(service)
    peak = max(sampler.peak_bytes, hwm)
    MEASURED[f"{service}: {label}"] = {
        "peak_rss_mib": round(peak / MIB, 1),
        "sampled_rss_peak_mib": round(sampler.peak_bytes / MIB, 1),
        "samples": sampler.samples,
        "live_processes_vmhwm_mib": round(hwm / MIB, 1),
        "cgroup_peak_with_page_cache_mib": round(cgroup_peak / MIB, 1),
        "limit_mib": round(limit / MIB, 1),
    }
    details = MEASURED[f"{service}: {label}"]
    print(f"{service}: peak RSS {peak / MIB:.1f} MiB of {limit / MIB:.0f} MiB ({label}); {details}")
    return peak, limit


def assert_not_killed(stack: ComposeStack, service: str, restarts_before: int) -> None:
    state = stack.inspect(service)
    assert state["State"]["OOMKilled"] is False
    assert state["State"]["Running"] is True
    assert int(state["RestartCount"]) == restarts_before, stack.logs(service)


# --- tests -------------------------------------------------------------------------------------------


def test_every_service_is_healthy_and_ssdp_found_every_zone(stack: ComposeStack):
    assert stack.health() == {name: "healthy" for name in SERVICES}
    beat = stack.redis_json("sonos:poller")
    assert beat is not None
    assert set(beat["zones"]) == set(ZONES)
    poller_log = stack.logs("poller", tail=200)
    assert "speakers=discovery" in poller_log
    # This host has the memory cgroup: neither service may claim otherwise.
    assert "cgroup_enable=memory" not in stack.logs(tail=400)
    # mem_limit really is applied (it would be 0 on a kernel without the memory cgroup).
    for service in SERVICES:
        assert stack.memory_limit_bytes(service) > 0


def test_redis_is_published_on_the_hosts_loopback_only(stack: ComposeStack):
    bindings = stack.inspect("redis")["HostConfig"]["PortBindings"]["6379/tcp"]
    assert [b["HostIp"] for b in bindings] == ["127.0.0.1"]
    assert stack.redis_cli("CONFIG", "GET", "save").split()[1:] in ([], [""])
    assert stack.redis_cli("--raw", "CONFIG", "GET", "maxmemory-policy").split()[1] == "noeviction"


def test_a_track_change_reaches_redis_and_the_zone_image(stack: ComposeStack):
    title = f"E2E {uuid.uuid4().hex[:8]}"
    set_track(stack, "living-room", title)

    wait_for(
        lambda: zone_title(stack, "living-room") == title,
        timeout_seconds=30,
        interval_seconds=0.5,
        what=lambda: f"{title!r} in sonos:zone:living-room\n{stack.logs()}",
    )
    status, body = http_get(artwork_url(stack, "/zones/living-room/square720.bmp"))
    assert status == 200
    with Image.open(io.BytesIO(body)) as image:
        assert (image.format, image.size, image.mode) == ("BMP", (720, 720), "P")
    status, body = http_get(artwork_url(stack, "/api/zones/living-room"))
    assert json.loads(body)["title"] == title
    status, body = http_get(artwork_url(stack, "/"))
    assert status == 200
    assert b"<html" in body.lower()


def control_post(stack: ComposeStack, path: str, body: object = None) -> None:
    conn = control(stack)
    try:
        conn.request("POST", path, json.dumps(body or {}), {"Content-Type": "application/json"})
        response = conn.getresponse()
        assert response.status == 200, (path, response.status, response.read())
        response.read()
    finally:
        conn.close()


def test_the_kitchens_urls_follow_it_into_a_group_and_out_again_without_a_404(stack: ComposeStack):
    rooms_api = json.loads(http_get(artwork_url(stack, "/api/zones"))[1])["rooms"]
    assert [(r["id"], r["group"]) for r in rooms_api] == [
        ("kitchen", "kitchen"),
        ("living-room", "living-room"),
    ]
    kitchen_urls = ("/api/zones/kitchen", "/zones/kitchen/square720.bmp", "/zones/kitchen/jpeg720.jpg")
    statuses: list[int] = []

    def kitchen_title() -> str:
        for path in kitchen_urls:
            try:
                statuses.append(http_get(artwork_url(stack, path))[0])
            except urllib.error.HTTPError as error:
                statuses.append(error.code)
        return str(json.loads(http_get(artwork_url(stack, "/api/zones/kitchen"))[1])["title"])

    shared = f"Shared {uuid.uuid4().hex[:8]}"
    set_track(stack, "living-room", shared)
    control_post(stack, "/groups", {"coordinator": "living-room", "members": ["kitchen"]})
    try:
        wait_for(lambda: kitchen_title() == shared, timeout_seconds=10, interval_seconds=0.2,
                 what=lambda: f"the kitchen shows its group's track\n{stack.logs()}")  # fmt: skip
        kitchen = json.loads(http_get(artwork_url(stack, "/api/zones/kitchen"))[1])
        assert (kitchen["room"], kitchen["group"]) == ("kitchen", "living-room")
        assert stack.redis_hash("sonos:rooms") == {"kitchen": "living-room", "living-room": "living-room"}
    finally:  # the later tests of this module play to both rooms
        control_post(stack, "/speakers/kitchen/ungroup")
    own = f"Own {uuid.uuid4().hex[:8]}"
    set_track(stack, "kitchen", own)
    wait_for(lambda: kitchen_title() == own, timeout_seconds=20, interval_seconds=0.2,
             what=lambda: f"the kitchen's own track again\n{stack.logs()}")  # fmt: skip
    assert set(statuses) == {200}, "a kitchen URL answered something else than 200 while it regrouped"


def run_load(url: str, seconds: int, connections: int) -> dict[str, int]:
    """wrk when installed (CI installs it), else the same load from Python threads."""
    wrk = shutil.which("wrk")
    if wrk is not None:
        script = Path(__file__).with_name("artwork_load.lua")
        out = subprocess.run(
            [wrk, "-t2", f"-c{connections}", f"-d{seconds}s", "--timeout", "10s", "-s", str(script), url],
            capture_output=True, text=True, timeout=seconds + 60, check=True,
        ).stdout  # fmt: skip
        requests = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
        bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
        errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
        return {
            "requests": requests,
            "non_2xx_3xx": int(bad.group(1)) if bad else 0,
            "timeouts": int(errors.group(4)) if errors else 0,
        }
    counts = {"requests": 0, "non_2xx_3xx": 0, "timeouts": 0}
    lock = threading.Lock()
    deadline = time.monotonic() + seconds
    host, port = url.removeprefix("http://").split(":")
    paths = ["/zones/living-room/square720.bmp", "/api/zones/living-room", "/Adafruit/artwork.bmp", "/"]

    def client(n: int) -> None:
        conn = http.client.HTTPConnection(host, int(port), timeout=10)
        i = n
        while time.monotonic() < deadline:
            i += 1
            try:
                conn.request("GET", paths[i % len(paths)])
                response = conn.getresponse()
                response.read()
                ok = response.status < 400
            except (OSError, http.client.HTTPException):
                conn.close()
                conn = http.client.HTTPConnection(host, int(port), timeout=10)
                ok = False
            with lock:
                counts["requests"] += 1
                counts["non_2xx_3xx"] += 0 if ok else 1
        conn.close()

    threads = [threading.Thread(target=client, args=(n,)) for n in range(connections)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return counts


def test_artwork_under_load_stays_inside_its_mem_limit_with_no_worker_killed(stack: ComposeStack):
    restarts = restart_count(stack, "artwork")

    with MemorySampler(stack, "artwork") as sampler, MemorySampler(stack, "redis") as redis_sampler:
        counts = run_load(artwork_url(stack, ""), LOAD_SECONDS, LOAD_CONNECTIONS)

    label = f"{LOAD_SECONDS} s at {LOAD_CONNECTIONS} connections"
    peak, limit = record_memory(stack, "artwork", sampler, label)
    record_memory(stack, "redis", redis_sampler, label)
    MEASURED["artwork load"] = counts
    assert counts["requests"] > 100, counts
    # Ten clients never fill a worker's ten busy connections, whichever worker they land on.
    assert counts["non_2xx_3xx"] == 0, counts
    assert counts["timeouts"] == 0, counts
    assert 0 < peak < limit
    assert_not_killed(stack, "artwork", restarts)
    log = stack.logs("artwork", tail=2000)
    for sign in ("SIGKILL", "Perhaps out of memory", "WORKER TIMEOUT"):
        assert sign not in log, log[-3000:]
    assert http_get(artwork_url(stack, "/healthz"))[0] == 200


def test_poller_through_a_burst_of_500_track_changes_stays_inside_its_mem_limit(stack: ComposeStack):
    restarts = restart_count(stack, "poller")
    zones = list(ZONES)
    last = {zones[n % len(zones)]: f"Burst {n}" for n in range(BURST_CHANGES - len(zones), BURST_CHANGES)}

    with MemorySampler(stack, "poller") as sampler, MemorySampler(stack, "fakesonos") as fake_sampler:
        conn = control(stack)
        try:
            for n in range(BURST_CHANGES):
                set_track(stack, zones[n % len(zones)], f"Burst {n}", conn)
        finally:
            conn.close()
        wait_for(
            lambda: all(zone_title(stack, zone) == title for zone, title in last.items()),
            timeout_seconds=180,
            interval_seconds=1,
            what=lambda: f"the last burst titles {last}\n{stack.logs('poller')}",
        )

    label = f"a burst of {BURST_CHANGES} track changes"
    peak, limit = record_memory(stack, "poller", sampler, label)
    record_memory(stack, "fakesonos", fake_sampler, label)
    beat = stack.redis_json("sonos:poller")
    assert beat is not None
    MEASURED["poller counters after the burst"] = beat["counters"]
    assert 0 < peak < limit
    assert_not_killed(stack, "poller", restarts)
    assert stack.health()["poller"] == "healthy"


def test_a_killed_poller_process_is_restarted_and_every_zone_reasserted(stack: ComposeStack):
    restarts = restart_count(stack, "poller")
    pid = poller_pid(stack)
    killed_at = time.time()

    stack.exec("poller", "sh", "-c", f"kill -KILL {pid}")

    wait_for(
        lambda: restart_count(stack, "poller") == restarts + 1,
        timeout_seconds=30,
        interval_seconds=0.5,
        what=lambda: f"compose restarting the poller\n{stack.logs('poller')}",
    )
    beat = wait_reasserted(stack, killed_at)
    assert set(beat["zones"]) == set(ZONES)
    wait_healthy(stack)


def test_a_stalled_poller_loop_is_exited_by_its_watchdog_and_restarted(stack: ComposeStack):
    restarts = restart_count(stack, "poller")
    stalled_at = time.time()

    # The test-only switch. Sent from inside: `docker kill -s` disables the restart policy on
    # Docker 20.10, so it could not show a restart there. tini (init: true) forwards it.
    stack.exec("poller", "sh", "-c", "kill -USR1 1")

    wait_for(
        lambda: restart_count(stack, "poller") == restarts + 1,
        timeout_seconds=int(stack.env["WATCHDOG_SECONDS"]) + 30,
        interval_seconds=0.5,
        what=lambda: f"the watchdog exiting the stalled poller\n{stack.logs('poller')}",
    )
    # Counted from the loop's last pass, which may be up to one poll interval (2 s) before the signal.
    assert time.time() - stalled_at >= int(stack.env["WATCHDOG_SECONDS"]) - 3
    log = stack.logs("poller", tail=400)
    assert "loop stalled on request (SIGUSR1)" in log
    assert "poll loop stalled for" in log
    wait_reasserted(stack, stalled_at)
    wait_healthy(stack)


def test_after_a_redis_restart_the_poller_reasserts_and_artwork_recovers_without_a_restart(
    stack: ComposeStack,
):
    before = {service: stack.inspect(service) for service in ("artwork", "poller")}
    restarted_at = time.time()

    stack.run("restart", "redis", timeout_seconds=60)

    # Nothing persisted, so whatever is in Redis now was written again by the running poller.
    wait_for(
        lambda: (
            stack.redis_json("sonos:poller") is not None
            and all(zone_title(stack, zone) for zone in ZONES)
            and set(stack.redis_cli("--raw", "SMEMBERS", "sonos:zones").split()) == set(ZONES)
        ),
        timeout_seconds=60,
        interval_seconds=1,
        what=lambda: f"zones re-asserted after the Redis restart\n{stack.logs('poller', 'redis')}",
    )
    assert "re-asserting" in stack.logs("poller", tail=200)

    def artwork_answers() -> bool:
        try:
            status, body = http_get(artwork_url(stack, "/api/zones/living-room"))
        except OSError:
            return False
        return status == 200 and bool(json.loads(body).get("title"))

    wait_for(artwork_answers, timeout_seconds=30, interval_seconds=0.5, what="artwork serving the zone again")
    assert http_get(artwork_url(stack, "/readyz"))[0] == 200
    for service, earlier in before.items():
        now = stack.inspect(service)
        assert now["RestartCount"] == earlier["RestartCount"], service
        assert now["State"]["StartedAt"] == earlier["State"]["StartedAt"], service
    assert int(stack.redis_json("sonos:poller")["started_at"]) < restarted_at * 1000  # type: ignore[index]
    wait_healthy(stack)


def test_compose_stop_ends_every_service_with_exit_0_inside_its_grace_period(stack: ComposeStack):
    grace = {service: int(stack.inspect(service)["Config"]["StopTimeout"]) for service in SERVICES}
    started = time.time()

    stack.run("stop", timeout_seconds=120)

    took = time.time() - started
    durations: dict[str, float] = {}
    kills: dict[str, int] = {}
    for event in stack.events(started, "type=container"):
        name = event["Actor"]["Attributes"]["com.docker.compose.service"]
        if event["Action"] == "kill" and event["Actor"]["Attributes"].get("signal") == "15":
            kills.setdefault(name, event["timeNano"])
        elif event["Action"] == "die" and name in kills:
            durations[name] = (event["timeNano"] - kills[name]) / 1e9
    MEASURED["stop seconds"] = {"total": round(took, 2), **{k: round(v, 2) for k, v in durations.items()}}
    for service, seconds in grace.items():
        state = stack.inspect(service)["State"]
        assert (state["Running"], state["ExitCode"], state["OOMKilled"]) == (False, 0, False), service
        assert service in durations, (service, durations)
        assert durations[service] < seconds, (service, durations[service], seconds)
