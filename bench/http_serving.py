"""HTTP: the artwork service under its deployed gunicorn configuration, against stock gunicorn.

The anchor is what a user would otherwise deploy: stock gunicorn `gthread` with the same workers and
threads and gunicorn's defaults otherwise, serving the same ~100 KB JPEG from a few-line WSGI app
with the artwork service's own headers. A second reference runs that app under the artwork
service's own gunicorn configuration (its worker class and limits), which separates the cost of
the worker from the cost of the app; an identical copy of that bare server shows how finely two
equal servers can be told apart here (the noise floor); nginx shows the machine's ceiling. wrk
drives 10 connections.
In every round each artwork scenario and its references run back to back in a rotating order,
and each figure is the median of the rounds' ratios (range reported): the machine's noise comes in
bursts of seconds and hits the runs of one round alike.
"""

from __future__ import annotations

import io
import json
import re
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import psutil
from PIL import Image

from artwork.config import ServerSettings
from bench.common import Result, Stack, check, median
from contract.layout import ArtName, rendition_name
from contract.profiles import BUILTIN_PROFILES
from harness.gunicorn import gunicorn_command, http_request, make_zone, seed_zone, server_env
from harness.net import free_port
from harness.processes import REPO_ROOT
from harness.redis_server import RedisServer
from harness.waiting import wait_for

BENCH = "http"
CONNECTIONS = 10
ZONE = "living-room"
TARGET_STOCK_RATIO = 0.9
TARGET_BARE_RATIO = 0.95
TARGET_P99_MS = 25.0
FILE_BYTES = 100_000


@dataclass
class WrkRun:
    """One wrk run's figures."""

    requests_per_second: float
    p50_ms: float
    p99_ms: float
    requests: int
    bad_responses: int
    cpu_seconds: float

    @property
    def cpu_per_1000(self) -> float:
        return 1000 * self.cpu_seconds / max(self.requests, 1)


def _jpeg_of_about(size_bytes: int) -> bytes:
    """A baseline 720x720 JPEG of roughly size_bytes: noise over a gradient, quality searched."""
    rng = Image.effect_noise((720, 720), 40)
    with Image.linear_gradient("L").resize((720, 720)) as grey:
        image = Image.merge("RGB", (grey, rng, grey.transpose(Image.Transpose.ROTATE_90)))
    best = b""
    for quality in range(30, 96, 3):
        out = io.BytesIO()
        image.save(out, "JPEG", quality=quality)
        if len(out.getvalue()) > size_bytes:
            break
        best = out.getvalue()
    return best


def _ms(value: str, unit: str) -> float:
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def parse_wrk(output: str) -> tuple[float, float, float, int, int]:
    """requests/s, p50 ms, p99 ms, requests, non-2xx/3xx + socket errors from `wrk --latency`."""
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", output)[1])  # type: ignore[index]
    lat = dict(re.findall(r"^\s+(\d+)%\s+([\d.]+(?:us|ms|s))\s*$", output, re.MULTILINE))
    p50 = _ms(*re.match(r"([\d.]+)(us|ms|s)", lat["50"]).groups())  # type: ignore[union-attr]
    p99 = _ms(*re.match(r"([\d.]+)(us|ms|s)", lat["99"]).groups())  # type: ignore[union-attr]
    requests = int(re.search(r"(\d+) requests in", output)[1])  # type: ignore[index]
    bad = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", output)
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output)
    bad_count = int(bad[1]) if bad else 0
    if errors:
        bad_count += sum(int(errors[i]) for i in range(1, 5))
    return rps, p50, p99, requests, bad_count


def _tree_cpu(root_pid: int) -> float:
    """CPU of a server: its master, its live workers, and the workers it already reaped."""
    try:
        root = psutil.Process(root_pid)
        times = root.cpu_times()
        total = times.user + times.system + times.children_user + times.children_system
        for child in root.children(recursive=True):
            child_times = child.cpu_times()
            total += child_times.user + child_times.system
    except psutil.Error:
        return 0.0
    return total


def run_wrk(port: int, path: str, seconds: float, root_pid: int, headers: dict[str, str]) -> WrkRun:
    """One wrk run against 127.0.0.1:port, with the server's CPU measured around it."""
    args = ["wrk", "-t1", f"-c{CONNECTIONS}", f"-d{seconds}s", "--latency", "--timeout", "5s"]
    for name, value in headers.items():
        args += ["-H", f"{name}: {value}"]
    before = _tree_cpu(root_pid)
    output = subprocess.run(
        [*args, f"http://127.0.0.1:{port}{path}"], capture_output=True, text=True, check=True
    ).stdout
    cpu = _tree_cpu(root_pid) - before
    rps, p50, p99, requests, bad = parse_wrk(output)
    return WrkRun(rps, p50, p99, requests, bad, cpu)


NGINX_CONF = """
worker_processes 2;
pid {tmp}/nginx.pid;
error_log {tmp}/nginx-error.log warn;
events {{ worker_connections 256; }}
http {{
    access_log off;
    sendfile on;
    tcp_nopush on;
    keepalive_timeout 5;
    keepalive_requests 100000;
    etag on;
    types {{ image/jpeg jpg; }}
    client_body_temp_path {tmp}/nginx-body;
    proxy_temp_path {tmp}/nginx-proxy;
    fastcgi_temp_path {tmp}/nginx-fastcgi;
    uwsgi_temp_path {tmp}/nginx-uwsgi;
    scgi_temp_path {tmp}/nginx-scgi;
    server {{
        listen 127.0.0.1:{port};
        root {root};
        location / {{ add_header Cache-Control no-cache; }}
    }}
}}
"""


def _start_nginx(stack: Stack, root: Path) -> tuple[int, int]:
    binary = shutil.which("nginx") or "/usr/sbin/nginx"
    port = free_port()
    conf = stack.tmp / "nginx.conf"
    conf.write_text(NGINX_CONF.format(tmp=stack.tmp, port=port, root=root))
    process = stack.popen(
        [
            binary,
            "-c",
            str(conf),
            "-p",
            str(stack.tmp),
            "-e",
            str(stack.tmp / "nginx-error.log"),
            "-g",
            "daemon off;",
        ],
        log_name="nginx.log",
    )

    def up() -> bool:
        if process.poll() is not None:
            raise RuntimeError(
                f"nginx exited: {stack.log_tail('nginx.log')} {stack.log_tail('nginx-error.log')}"
            )
        return _answers(port, "/file.jpg")

    # Workers run as an unprivileged user when started as root: they must reach the file.
    stack.tmp.chmod(0o711)
    wait_for(up, 10, what="nginx")
    return port, process.pid


def _answers(port: int, path: str) -> bool:
    try:
        return http_request(port, path).status == 200
    except OSError:
        return False


def start_gunicorn(  # noqa: PLR0917 - a small internal helper
    stack: Stack,
    artwork_dir: Path,
    redis_url: str,
    name: str,
    extra: dict[str, str],
    app: str = "",
    command: list[str] | None = None,
) -> tuple[int, int]:
    port = free_port()
    env = server_env(artwork_dir, redis_url, port, extra)
    env["PYTHONPATH"] += f":{REPO_ROOT}"
    argv = [*(command or gunicorn_command()), *([app] if app else [])]
    argv = [arg.replace("{port}", str(port)) for arg in argv]
    process = stack.popen(argv, log_name=f"{name}.log", env=env)

    def healthy() -> bool:
        if process.poll() is not None:
            raise RuntimeError(f"{name} exited:\n{stack.log_tail(name + '.log')}")
        return _answers(port, "/healthz")

    wait_for(healthy, 20, what=name)
    return port, process.pid


def stock_gthread_command(workers: int, threads: int) -> list[str]:
    """Stock gunicorn gthread with the service's workers and threads, and gunicorn's defaults otherwise."""
    return [
        *gunicorn_command()[:3],  # the interpreter, -m gunicorn: no config file
        "--worker-class", "gthread", "--workers", str(workers), "--threads", str(threads),
        "--bind", "127.0.0.1:{port}",
    ]  # fmt: skip


# Headers gunicorn itself adds to every response; the bare reference gets the rest.
_SERVER_HEADERS = {"server", "date", "connection"}
REFERENCES = ("stock", "bare")  # stock gthread; the bare app under the service's own configuration
# An identical copy of the bare server, run as a third reference: how far two equal servers read
# apart in one round is the resolution of every ratio here (the noise floor). Being the same
# reference, it is also a second sample of it: the bare app's figure in a round is their mean.
COPY = "copy"


@dataclass
class Round:
    """One round of a scenario: the artwork run and each reference's, run back to back."""

    artwork: WrkRun
    references: dict[str, WrkRun]

    def runs_of(self, reference: str) -> list[WrkRun]:
        """The runs of a reference in this round: the bare app's are its own and its copy's."""
        return [self.references[reference], *([self.references[COPY]] if reference == "bare" else [])]

    def reference_rps(self, reference: str) -> float:
        runs = self.runs_of(reference)
        return sum(r.requests_per_second for r in runs) / len(runs)

    def reference_cpu_per_1000(self, reference: str) -> float:
        runs = self.runs_of(reference)
        return sum(r.cpu_per_1000 for r in runs) / len(runs)

    def ratio(self, reference: str) -> float:
        return self.artwork.requests_per_second / max(self.reference_rps(reference), 1e-9)


def _write_files(data: bytes, artwork_dir: Path, nginx_root: Path, bare_file: Path) -> ArtName:
    """The same bytes as the artwork volume's rendition, nginx's file and the bare app's."""
    name = rendition_name("bench-http", BUILTIN_PROFILES["jpeg720"])
    path = artwork_dir / name.relpath
    path.parent.mkdir(parents=True)
    path.write_bytes(data)
    (artwork_dir / "tmp").mkdir()
    nginx_root.mkdir()
    (nginx_root / "file.jpg").write_bytes(data)
    bare_file.write_bytes(data)
    return name


def run(quick: bool = False) -> list[Result]:
    """Measure; returns the result records."""
    seconds = 1
    # Stock gthread, the anchor, is bimodal: at times one of its workers takes all ten connections
    # and serves a third as many requests. More rounds keep its median where it mostly is.
    rounds = 3 if quick else 13
    if shutil.which("wrk") is None:
        return [Result(BENCH, "wrk missing", 0, "", detail="apt-get install wrk nginx-light")]
    with Stack(BENCH) as stack:
        redis_server = RedisServer(stack.tmp / "redis")
        redis_server.start()
        stack.callback(redis_server.stop)
        artwork_dir, nginx_root, bare_file = stack.tmp / "artwork", stack.tmp / "www", stack.tmp / "file.jpg"
        data = _jpeg_of_about(FILE_BYTES)
        name = _write_files(data, artwork_dir, nginx_root, bare_file)
        seed_zone(redis_server.url, make_zone(ZONE, {"jpeg720": name}))

        nginx_port, nginx_pid = _start_nginx(stack, nginx_root)
        nginx_etag = http_request(nginx_port, "/file.jpg").headers["etag"]
        art_port, art_pid = start_gunicorn(stack, artwork_dir, redis_server.url, "artwork", {})
        zone_path = f"/zones/{ZONE}/jpeg720.jpg"
        first = http_request(art_port, zone_path)
        art_etag = first.headers["etag"]
        # The references send what the artwork service sent, so that all cost gunicorn the same.
        same_headers = [(k, v) for k, v in first.headers.items() if k not in _SERVER_HEADERS]
        bare_env = {"BENCH_FILE": str(bare_file), "BENCH_HEADERS": json.dumps(same_headers)}
        app = "bench.bare_wsgi:app"
        bare_port, bare_pid = start_gunicorn(stack, artwork_dir, redis_server.url, "bare", bare_env, app)
        # The workers and threads the artwork run has, read as the service reads them.
        deployed = ServerSettings.from_env(server_env(artwork_dir, redis_server.url, art_port))
        stock = stock_gthread_command(deployed.workers, deployed.threads)
        stock_port, stock_pid = start_gunicorn(
            stack, artwork_dir, redis_server.url, "stock", bare_env, app, stock
        )
        revalidate = {"If-None-Match": art_etag}
        copy_port, copy_pid = start_gunicorn(stack, artwork_dir, redis_server.url, COPY, bare_env, app)
        servers = {
            "stock": (stock_port, stock_pid),
            "bare": (bare_port, bare_pid),
            COPY: (copy_port, copy_pid),
        }

        def artwork(path: str, headers: dict[str, str]) -> Callable[[], WrkRun]:
            return lambda: run_wrk(art_port, path, seconds, art_pid, headers)

        def reference(kind: str, headers: dict[str, str]) -> Callable[[], WrkRun]:
            port, pid = servers[kind]
            return lambda: run_wrk(port, "/f.jpg", seconds, pid, headers)

        scenarios: dict[str, tuple[Callable[[], WrkRun], dict[str, str]]] = {
            "artwork /zones 200": (artwork(zone_path, {}), {}),
            "artwork /art 200": (artwork(f"/art/{name.filename}", {}), {}),
            "artwork /zones 304": (artwork(zone_path, revalidate), revalidate),
        }
        nginx_runs: dict[str, Callable[[], WrkRun]] = {
            "nginx 200": lambda: run_wrk(nginx_port, "/file.jpg", seconds, nginx_pid, {}),
            "nginx 304": lambda: run_wrk(
                nginx_port, "/file.jpg", seconds, nginx_pid, {"If-None-Match": nginx_etag}
            ),
        }
        # First requests import lazily and fill caches: warm up, unmeasured.
        for port, pid in servers.values():
            run_wrk(port, "/f.jpg", 1, pid, {})
        run_wrk(art_port, zone_path, 1, art_pid, {})
        measured: dict[str, list[Round]] = {key: [] for key in scenarios}
        nginx: dict[str, list[WrkRun]] = {key: [] for key in nginx_runs}
        for round_number in range(rounds):
            for key, (measure, headers) in scenarios.items():
                # Rotate who goes first, so that none always gets the fresher machine.
                order = ["artwork", *servers]
                order = order[round_number % len(order) :] + order[: round_number % len(order)]
                runs = {who: (measure if who == "artwork" else reference(who, headers))() for who in order}
                measured[key].append(Round(runs.pop("artwork"), runs))
            for key, nginx_run in nginx_runs.items():
                nginx[key].append(nginx_run())
    return _results(measured, nginx, seconds, len(data))


def _results(
    measured: dict[str, list[Round]], nginx: dict[str, list[WrkRun]], seconds: float, size: int
) -> list[Result]:
    rounds = len(next(iter(measured.values())))
    how = (
        f"wrk -c{CONNECTIONS}, {rounds} rounds of {seconds:g} s back to back with the artwork run, "
        f"medians; {size // 1000} KB JPEG, the artwork service's headers"
    )
    labels = {"stock": "stock gthread", "bare": "bare app, same worker"}
    results = []
    for kind in REFERENCES:
        for status, keys in (
            ("200", ("artwork /zones 200", "artwork /art 200")),
            ("304", ("artwork /zones 304",)),
        ):
            runs = [run for key in keys for r in measured[key] for run in r.runs_of(kind)]
            results.append(
                Result(
                    BENCH,
                    f"{labels[kind]} {status} (reference)",
                    _rps(runs),
                    "req/s",
                    detail=how,
                    extra=_extra(runs),
                )
            )
    results += [
        Result(BENCH, f"{key} (reference)", _rps(runs), "req/s", detail=f"wrk -c{CONNECTIONS}, medians")
        for key, runs in nginx.items()
    ]
    targets = {"stock": TARGET_STOCK_RATIO, "bare": TARGET_BARE_RATIO}
    for key, status in (
        ("artwork /zones 200", "200"),
        ("artwork /art 200", "200"),
        ("artwork /zones 304", "304"),
    ):
        rounds_of = measured[key]
        runs = [r.artwork for r in rounds_of]
        nginx_rps = _rps(nginx[f"nginx {status}"])
        for kind in REFERENCES:
            ratios = [r.ratio(kind) for r in rounds_of]
            ratio = median(ratios)
            reference_runs = [run for r in rounds_of for run in r.runs_of(kind)]
            cpu_ratio = median(
                r.reference_cpu_per_1000(kind) / max(r.artwork.cpu_per_1000, 1e-9) for r in rounds_of
            )
            results.append(
                Result(
                    BENCH,
                    f"{key}: req/s vs {labels[kind]}",
                    ratio,
                    "x",
                    target=f"≥ {targets[kind]}×",
                    passed=check(ratio, ">=", targets[kind]),
                    baseline=f"{labels[kind]} {_rps(reference_runs):,.0f} req/s; nginx {nginx_rps:,.0f}",
                    detail=f"{_rps(runs):,.0f} req/s = {_rps(runs) / nginx_rps:.2f}× nginx; median of "
                    f"{len(ratios)} rounds (range {min(ratios):.2f}–{max(ratios):.2f}); CPU "
                    f"{median(r.cpu_per_1000 for r in runs):.3f} s/1000 req ({labels[kind]} "
                    f"{median(r.cpu_per_1000 for r in reference_runs):.3f}): its CPU per request is "
                    f"{cpu_ratio:.2f}× artwork's"
                    + ("; per round the mean of the bare app and its copy" if kind == "bare" else ""),
                    extra={
                        **_extra(runs),
                        "cpu_ratio": round(cpu_ratio, 3),
                        "min": min(ratios),
                        "max": max(ratios),
                    },
                )
            )
        floor = [
            r.references[COPY].requests_per_second / max(r.references["bare"].requests_per_second, 1e-9)
            for r in rounds_of
        ]
        results.append(
            Result(
                BENCH,
                f"{key}: noise floor, the bare app vs an identical copy",
                median(floor),
                "x",
                baseline="1.00× if the machine were quiet",
                detail=f"median of {len(floor)} rounds (range {min(floor):.2f}–{max(floor):.2f}); two equal "
                "servers in the same rounds: the ratios above resolve no finer than this",
                extra={"min": min(floor), "max": max(floor)},
            )
        )
        p99s = [r.p99_ms for r in runs]
        results.append(
            Result(
                BENCH,
                f"{key}: p99 latency",
                median(p99s),
                "ms",
                target=f"< {TARGET_P99_MS:g} ms",
                passed=check(median(p99s), "<", TARGET_P99_MS),
                baseline=f"stock gthread {median(r.references['stock'].p99_ms for r in rounds_of):.1f} ms",
                detail=f"median of the rounds' p99 (range {min(p99s):.1f}–{max(p99s):.1f} ms); "
                f"{sum(r.bad_responses for r in runs)} non-2xx/3xx or socket errors",
            )
        )
    return results


def _rps(runs: list[WrkRun]) -> float:
    return median(r.requests_per_second for r in runs)


def _extra(runs: list[WrkRun]) -> dict[str, float]:
    return {
        "req_per_s": round(_rps(runs), 1),
        "p50_ms": round(median(r.p50_ms for r in runs), 2),
        "p99_ms": round(median(r.p99_ms for r in runs), 2),
        "cpu_s_per_1000": round(median(r.cpu_per_1000 for r in runs), 4),
        "bad_responses": sum(r.bad_responses for r in runs),
    }
