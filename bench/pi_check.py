"""`make pi-check`: build the images for linux/arm64 under qemu, run them as the stack, and test them.

A Pi runs arm64 images that nothing else here builds. This uses shared/ci/arm64-standin.sh to build
every service for linux/arm64 (as local/<service>:arm64), brings them up with
docker-compose.arm64.yml, plays a few track changes, checks the images served, and runs the
poller's unit tests inside the arm64 poller image. Emulation is about 6-7x slower than native,
so the times are indicative; the point is that everything works on aarch64.
Writes bench/results/pi-check.md and .json. Not part of `make test` (the first build takes ~12 min).
"""

from __future__ import annotations

import io
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from pathlib import Path
from typing import Any

from PIL import Image

from harness.compose import COMPOSE_FILE, REPO_ROOT, ComposeStack
from harness.net import free_port

STANDIN = REPO_ROOT.parent / "shared" / "ci" / "arm64-standin.sh"
RESULTS = REPO_ROOT / "bench" / "results"
CHANGES = 5
IMAGES = {"square720.bmp": (720, 720), "jpeg720.jpg": (720, 720), "bar320x960.bmp": (320, 960)}
# Pure-Python test tools lent to the poller image (it has none): mounted, never installed in it.
TEST_PACKAGES = (
    "pytest", "_pytest", "pluggy", "iniconfig", "packaging", "pygments", "pytest_timeout.py", "py.py",
)  # fmt: skip
# Test tools with compiled parts cannot be lent from this machine's architecture: their tests stay here.
NOT_LENDABLE = ("hypothesis",)


def build(rows: list[dict[str, Any]]) -> None:
    """The stand-in script, timed; one row per image it built."""
    began = time.monotonic()
    run = subprocess.run(["bash", str(STANDIN), str(REPO_ROOT)], capture_output=True, text=True, check=False)
    if run.returncode != 0:
        raise RuntimeError(f"arm64-standin.sh failed:\n{run.stderr[-3000:]}")
    for name, seconds in re.findall(r"built local/(\w+):arm64 in (\d+) s", run.stderr):
        rows.append({"stage": f"build {name} (arm64)", "seconds": int(seconds)})
    rows.append({"stage": "arm64-standin.sh in all", "seconds": round(time.monotonic() - began)})


def new_stack() -> ComposeStack:
    """The arm64 images as the demo stack, fakesonos with four rooms on its own loopback block."""
    block = f"127.0.{100 + os.getpid() % 40}"
    household = f"Sonos_pi{uuid.uuid4().hex[:12]}"
    rooms = ("Living Room", "Kitchen")
    env = {
        "REDIS_HOST_PORT": str(free_port()),
        "ARTWORK_PORT": str(free_port()),
        "FAKESONOS_CONTROL_PORT": str(free_port()),
        "FAKESONOS_DEMO": "off",
        "FAKESONOS_SPEAKERS": ",".join(f"{block}.{n}={room}" for n, room in enumerate(rooms, start=2)),
        "FAKESONOS_HOUSEHOLD_ID": household,
        "SONOS_HOUSEHOLD": household,
        "SONOS_SPEAKERS": f"{block}.2,{block}.3",
    }
    return ComposeStack(f"sonosart-pi-{os.getpid()}", env, files=(COMPOSE_FILE, "docker-compose.arm64.yml"))


def post(port: int, path: str, body: dict[str, Any]) -> None:
    """POST JSON to fakesonos' control API."""
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}{path}", json.dumps(body).encode(), {"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        response.read()


def play(stack: ComposeStack, rows: list[dict[str, Any]]) -> None:
    """Track changes timed from the household to Redis, then every image profile decoded."""
    control, http_port = int(stack.env["FAKESONOS_CONTROL_PORT"]), int(stack.env["ARTWORK_PORT"])
    took_ms = []
    for n in range(CHANGES):
        title = f"arm64 check {n}"
        post(
            control, "/speakers/living-room/track", {"title": title, "artist": "Pi", "cover": {"seed": title}}
        )
        began = time.monotonic()
        while stack.redis_hash("sonos:zone:living-room").get("title") != title:
            if time.monotonic() - began > 120:
                raise RuntimeError(f"{title!r} never reached Redis\n{stack.logs('poller')}")
            time.sleep(0.2)
        took_ms.append((time.monotonic() - began) * 1000)
    rows.append(
        {
            "stage": f"change to Redis, {CHANGES} changes (p50, emulated)",
            "ms": round(statistics.median(took_ms)),
        }
    )
    for image, size in IMAGES.items():
        url = f"http://127.0.0.1:{http_port}/zones/living-room/{image}"
        with (
            urllib.request.urlopen(url, timeout=30) as response,
            Image.open(io.BytesIO(response.read())) as decoded,
        ):
            decoded.load()
            if decoded.size != size:
                raise RuntimeError(f"{image}: {decoded.size}, expected {size}")
    rows.append({"stage": f"images served and decoded ({', '.join(IMAGES)})", "ok": True})


def unit_tests(rows: list[dict[str, Any]]) -> None:
    """The poller's unit tests inside the arm64 poller image, with pytest lent to it read-only."""
    site = Path(next(p for p in sys.path if p.endswith("site-packages")))
    with tempfile.TemporaryDirectory(prefix="pi-check-") as lent:
        Path(lent).chmod(0o755)  # the image runs as its own unprivileged user; mkdtemp makes it 0700
        for name in TEST_PACKAGES:
            if (site / name).is_dir():
                shutil.copytree(site / name, Path(lent) / name)
            elif (site / name).is_file():
                shutil.copy(site / name, lent)
        tests, left_out = lendable_tests(sorted((REPO_ROOT / "tests" / "unit").glob("test_poller_*.py")))
        began = time.monotonic()
        run = subprocess.run(
            ["docker", "run", "--rm", "--platform", "linux/arm64", "--network", "none",
             "-v", f"{REPO_ROOT}:/repo:ro", "-v", f"{lent}:/lent:ro", "-w", "/repo", "-e", "PYTHONPATH=/lent",
             "--entrypoint", "python", "local/poller:arm64",
             # Plugins found by their entry points on the host are named here: only modules are lent.
             "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "pytest_timeout", *tests],
            capture_output=True, text=True, timeout=1800, check=False,
        )  # fmt: skip
    summary = (run.stdout.strip().splitlines() or ["(no output)"])[-1]
    if run.returncode != 0:
        raise RuntimeError(f"poller unit tests failed on arm64:\n{run.stdout[-4000:]}\n{run.stderr[-2000:]}")
    rows.append(
        {
            "stage": "poller unit tests in the arm64 image",
            "seconds": round(time.monotonic() - began),
            "result": summary + "".join(f"; not run here: {name} (needs {why})" for name, why in left_out),
        }
    )


def lendable_tests(paths: list[Path]) -> tuple[list[str], list[tuple[str, str]]]:
    """The test files that need only lendable tools, and the others with the tool each needs."""
    tests, left_out = [], []
    for path in paths:
        text = path.read_text()
        imports = re.findall(r"^(?:from|import) (\w+)", text, re.MULTILINE)
        needs = next((tool for tool in NOT_LENDABLE if tool in imports), None)
        if needs is None:
            tests.append(str(path.relative_to(REPO_ROOT)))
        else:
            left_out.append((path.name, needs))
    return tests, left_out


def markdown(rows: list[dict[str, Any]]) -> str:
    """The results table."""
    lines = [
        "# Pi check: linux/arm64 images under qemu user-mode emulation",
        "",
        "Emulated, about 6-7x slower than native here: the times are indicative. What matters is",
        "that every stage ran on aarch64.",
        "",
        "| stage | time | result |",
        "|---|---:|---|",
    ]
    for row in rows:
        time_text = f"{row['seconds']} s" if "seconds" in row else f"{row['ms']} ms" if "ms" in row else ""
        lines.append(f"| {row['stage']} | {time_text} | {row.get('result', 'ok')} |")
    return "\n".join(lines) + "\n"


def main() -> int:
    """Build, run, test; write the results."""
    if not STANDIN.is_file():
        print(f"pi-check: {STANDIN.name} not found beside the repository (shared/ci/)", file=sys.stderr)
        return 2
    rows: list[dict[str, Any]] = []
    stack = new_stack()
    try:
        build(rows)
        began = time.monotonic()
        result = stack.run(
            "up", "-d", "--no-build", "--wait", "--wait-timeout", "600", timeout_seconds=900, check=False
        )
        if result.returncode != 0:
            raise RuntimeError(f"compose up failed:\n{result.stderr[-3000:]}\n{stack.logs()}")
        rows.append({"stage": "compose up to healthy (emulated)", "seconds": round(time.monotonic() - began)})
        arch = stack.exec("poller", "python", "-c", "import platform; print(platform.machine())").strip()
        rows.append({"stage": "poller container machine", "result": arch})
        if arch != "aarch64":
            raise RuntimeError(f"the poller runs on {arch}, not aarch64")
        play(stack, rows)
        unit_tests(rows)
    except (RuntimeError, OSError, subprocess.SubprocessError) as err:
        print(f"pi-check: {err}\n{stack.logs()[-6000:]}", file=sys.stderr)
        return 1
    finally:
        stack.down()
        RESULTS.mkdir(parents=True, exist_ok=True)
        (RESULTS / "pi-check.json").write_text(json.dumps(rows, indent=2) + "\n")
        (RESULTS / "pi-check.md").write_text(markdown(rows))
        print(markdown(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
