"""The campaign's results: bench/results/chaos.json, chaos.md and chaos.png."""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path
from typing import Any

from bench.chaos.invariants import Fault, Recovery, Violation
from bench.chaos.observer import Record


def container_usage(record: Record) -> dict[str, dict[str, float]]:
    """Memory (MiB) and CPU (%) per container: at the start, at the end, and the highest."""
    rows: dict[str, list[tuple[float, float, float]]] = defaultdict(list)
    for at, service, mib, cpu in record.memory:
        rows[service].append((at, mib, cpu))
    usage = {}
    for service, samples in sorted(rows.items()):
        samples.sort()
        usage[service] = {
            "memory_mib_start": round(samples[0][1], 1),
            "memory_mib_end": round(samples[-1][1], 1),
            "memory_mib_max": round(max(s[1] for s in samples), 1),
            "cpu_percent_start": round(samples[0][2], 1),
            "cpu_percent_end": round(samples[-1][2], 1),
            "cpu_percent_max": round(max(s[2] for s in samples), 1),
        }
    return usage


def summary(
    *, minutes: float, seed: int, kinds: tuple[str, ...], changes_made: int, changes_lost: int,
    violations: list[Violation], recoveries: list[Recovery], record: Record, limits_mib: dict[str, float],
    errors: list[str], faults: list[Fault],
) -> dict[str, Any]:  # fmt: skip
    """The JSON document (its keys are the issue's)."""
    return {
        "minutes": minutes,
        "seed": seed,
        "kinds": list(kinds),
        "changes_made": changes_made,
        "changes_lost": changes_lost,
        "violations": [
            {"time": round(v.at, 1), "invariant": v.invariant, "detail": v.detail} for v in violations
        ],
        "faults": [r.as_json() for r in recoveries],
        "fault_log": [
            {"kind": f.kind, "zone": f.zone, "injected": round(f.injected, 1), "ended": round(f.ended, 1)}
            for f in faults
        ],
        "containers": container_usage(record),
        "memory_limits_mib": limits_mib,
        "volume_max_mib": round(max((v[1] for v in record.volume), default=0.0), 1),
        "temp_file_max_age_s": round(max((v[2] for v in record.volume), default=0.0), 1),
        "http_statuses": {str(k): v for k, v in sorted(record.statuses.items())},
        "http_statuses_flood": {str(k): v for k, v in sorted(record.flood_statuses.items())},
        "images_decoded": record.images_checked,
        "restarts": [{"time": round(at, 1), "service": s} for at, s in record.restarts],
        "oom_kills": [{"time": round(at, 1), "service": s} for at, s in record.oom_kills],
        "observer_errors": errors,
    }


def markdown(document: dict[str, Any], repeat: str) -> str:
    """A page people read: the verdict, the fault table, containers, then each violation."""
    ok = not document["violations"] and not document["changes_lost"] and not document["observer_errors"]
    lines = [
        "# Chaos campaign",
        "",
        f"{document['minutes']:g} minutes, seed {document['seed']}: "
        f"{document['changes_made']} changes made, {document['changes_lost']} lost, "
        f"{len(document['violations'])} violations. **{'PASS' if ok else 'FAIL'}**",
        "",
        f"Repeat: `{repeat}`",
        "",
        "![memory per container, faults marked](chaos.png)",
        "",
        "| fault | injected | recovered | p50 s | p95 s | max s |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for fault in document["faults"]:
        lines.append(
            f"| {fault['kind']} | {fault['injected']} | {fault['recovered']} | {fault['recover_s_p50']} "
            f"| {fault['recover_s_p95']} | {fault['recover_s_max']} |"
        )
    lines += [
        "",
        "| container | limit MiB | MiB start | MiB end | MiB max | CPU % max |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for service, usage in document["containers"].items():
        limit = document["memory_limits_mib"].get(service, 0)
        lines.append(
            f"| {service} | {limit:g} | {usage['memory_mib_start']} | {usage['memory_mib_end']} "
            f"| {usage['memory_mib_max']} | {usage['cpu_percent_max']} |"
        )
    lines += [
        "",
        f"Artwork volume at most {document['volume_max_mib']} MiB; oldest temp file "
        f"{document['temp_file_max_age_s']} s. {document['images_decoded']} served images decoded "
        f"completely. HTTP statuses the displays and pages got: {document['http_statuses']}; "
        f"the client flood got: {document.get('http_statuses_flood', {})}.",
        f"Restarts: {len(document['restarts'])}, OOM kills: {len(document['oom_kills'])} "
        "(each inside a fault meant to cause it, or listed below).",
        "",
    ]
    if document["violations"] or document["observer_errors"]:
        lines += ["## Violations", ""]
        lines += [
            f"- {v['time']} s, invariant {v['invariant']}: {v['detail']}"
            for v in document["violations"][:200]
        ]
        lines += [f"- observer error: {e}" for e in document["observer_errors"]]
        lines.append("")
    return "\n".join(lines)


def plot(record: Record, faults: list[Fault], limits_mib: dict[str, float], path: Path) -> None:
    """Memory per container over time, with every fault as a shaded span."""
    import matplotlib  # noqa: PLC0415 - only the report needs it, and it is slow to import

    matplotlib.use("Agg")
    from matplotlib import pyplot  # noqa: PLC0415

    figure, axes = pyplot.subplots(figsize=(12, 5), dpi=100)
    series: dict[str, list[tuple[float, float]]] = defaultdict(list)
    for at, service, mib, _ in record.memory:
        series[service].append((at / 60, mib))
    for service, points in sorted(series.items()):
        points.sort()
        line = axes.plot([p[0] for p in points], [p[1] for p in points], label=service)[0]
        if limits_mib.get(service):
            axes.axhline(limits_mib[service], color=line.get_color(), linestyle=":", linewidth=1)
    for fault in faults:
        axes.axvspan(fault.injected / 60, max(fault.ended, fault.injected + 1) / 60, color="red", alpha=0.12)
        axes.annotate(fault.kind, (fault.injected / 60, 0), rotation=90, fontsize=6, va="bottom", alpha=0.7)
    axes.set_xlabel("minutes")
    axes.set_ylabel("memory (MiB, docker stats); dotted: limits")
    axes.set_title("Chaos campaign: memory per container, faults shaded")
    axes.legend(loc="upper left")
    figure.tight_layout()
    figure.savefig(path)
    pyplot.close(figure)


def write(
    directory: Path, document: dict[str, Any], repeat: str, record: Record, faults: list[Fault]
) -> None:
    """chaos.json, chaos.md and chaos.png in `directory`."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "chaos.json").write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n")
    (directory / "chaos.md").write_text(markdown(document, repeat))
    plot(record, faults, document["memory_limits_mib"], directory / "chaos.png")
