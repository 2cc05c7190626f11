"""`python -m bench [pipeline http latency idle soak scale] [--quick]`: run benchmarks, write results.

Writes bench/results/latest.json and bench/results/latest.md (the table README links to). Each
benchmark stops everything it started, also on Ctrl-C or SIGTERM.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import platform
import signal
import subprocess
import sys
import time
from types import FrameType
from typing import Any

from bench.common import RESULTS_DIR, Result, fmt
from harness.processes import REPO_ROOT

BENCHMARKS = {
    "pipeline": "bench.pipeline",
    "http": "bench.http_serving",
    "latency": "bench.latency",
    "glass": "bench.glass",
    "display": "bench.display",
    "idle": "bench.idle",
    "soak": "bench.soak",
    "scale": "bench.scale",
}
TITLES = {
    "pipeline": "Art pipeline (in process; naive Pillow in the same rounds)",
    "http": "HTTP (real gunicorn config; bare WSGI and nginx in the same run)",
    "latency": "Change latency (real poller process, fakesonos in process)",
    "glass": "Change to glass and the cost of waiting (real poller, gunicorn and display clients)",
    "display": "Display client on the wire (display/ on simulated hardware; the original loop beside it)",
    "idle": "Idle cost (real poller process and the original loop, side by side)",
    "soak": "Memory soak (real poller process + real gunicorn, at the same time)",
    "scale": "Scale (real poller process, 32 emulated speakers)",
}


def _interrupt(signum: int, _frame: FrameType | None) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def _git_commit() -> str:
    try:
        return subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=True, cwd=REPO_ROOT
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return ""


def markdown(results: list[Result], meta: dict[str, Any]) -> str:
    """The results table, one section per benchmark."""
    lines = [
        "# Benchmark results",
        "",
        f"`python -m bench` on {meta['machine']}, {meta['cpus']} CPUs, Python {meta['python']}, "
        f"commit {meta['commit'] or '?'} (uncommitted changes possible), {meta['date']}; "
        f"took {meta['seconds']:.0f} s. Ratios and medians; these machines are noisy.",
        "",
        "| benchmark | measure | figure | target | baseline / reference | pass | notes |",
        "|---|---|---|---|---|---|---|",
    ]
    for result in results:
        verdict = {True: "✅ pass", False: "❌ miss", None: "—"}[result.passed]
        cells = [
            result.bench,
            result.name,
            fmt(result.figure, result.unit) if result.unit else "",
            result.target,
            result.baseline,
            verdict,
            result.detail,
        ]
        lines.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    lines += ["", "How each is measured:", ""]
    lines += [f"- **{name}**: {TITLES[name]}" for name in meta["benchmarks"]]
    return "\n".join(lines) + "\n"


def _merged(results: list[Result], meta: dict[str, Any]) -> tuple[list[Result], dict[str, Any]]:
    """These results merged into bench/results/latest.json, in the usual order of benchmarks."""
    path = RESULTS_DIR / "latest.json"
    if not path.exists():
        return results, meta
    saved = json.loads(path.read_text())
    ran = set(meta["benchmarks"])
    kept = [Result(**r) for r in saved["results"] if r["bench"] not in ran]
    order = list(BENCHMARKS)
    merged = sorted(kept + results, key=lambda r: order.index(r.bench) if r.bench in order else len(order))
    timings = {**saved["meta"].get("seconds_per_benchmark", {}), **meta["seconds_per_benchmark"]}
    benchmarks = [name for name in order if name in timings]
    merged_meta = {
        **meta,
        "benchmarks": benchmarks,
        "seconds_per_benchmark": timings,
        "seconds": sum(timings.values()),
        "date": f"{saved['meta'].get('date', '?')}; {', '.join(sorted(ran))} re-run {meta['date']}",
    }
    return merged, merged_meta


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", help=f"benchmarks to run: {' '.join(BENCHMARKS)} (default: all)")
    parser.add_argument("--quick", action="store_true", help="fewer repetitions, for trying changes out")
    parser.add_argument("--no-write", action="store_true", help="print the table only")
    args = parser.parse_args(argv)
    unknown = [n for n in args.names if n not in BENCHMARKS]
    if unknown:
        parser.error(f"unknown benchmark(s): {', '.join(unknown)}; choose from {', '.join(BENCHMARKS)}")
    names = [n for n in BENCHMARKS if n in args.names] if args.names else list(BENCHMARKS)
    signal.signal(signal.SIGTERM, _interrupt)
    started = time.monotonic()
    results: list[Result] = []
    timings: dict[str, float] = {}
    try:
        for name in names:
            print(f"== {name}", file=sys.stderr, flush=True)
            began = time.monotonic()
            module = importlib.import_module(BENCHMARKS[name])
            try:
                results += module.run(quick=args.quick)
            except KeyboardInterrupt:
                raise
            except Exception as err:
                results.append(Result(name, "benchmark failed", 0, "", passed=False, detail=f"{err!r}"[:300]))
            timings[name] = round(time.monotonic() - began, 1)
            print(f"   {timings[name]:.0f} s", file=sys.stderr, flush=True)
    except KeyboardInterrupt:
        print("interrupted; everything started was stopped", file=sys.stderr)
        return 130
    meta = {
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "commit": _git_commit(),
        "date": time.strftime("%Y-%m-%d %H:%M %Z"),
        "seconds": time.monotonic() - started,
        "quick": args.quick,
        "benchmarks": names,
        "seconds_per_benchmark": timings,
    }
    table = markdown(results, meta)
    print(table)
    if not args.no_write:
        RESULTS_DIR.mkdir(exist_ok=True)
        if names != list(BENCHMARKS):
            # A partial run replaces only its own benchmarks' rows in the saved results.
            results, meta = _merged(results, meta)
            table = markdown(results, meta)
        payload = {"meta": meta, "results": [r.as_dict() for r in results]}
        (RESULTS_DIR / "latest.json").write_text(json.dumps(payload, indent=1, ensure_ascii=False) + "\n")
        (RESULTS_DIR / "latest.md").write_text(table)
    return 0 if all(r.passed is not False for r in results) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
