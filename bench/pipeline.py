"""Art pipeline: generated covers -> every default profile, against naive Pillow in the same rounds.

Naive = what a first version does: full decode, LANCZOS resize, full median-cut quantize, one decode
per profile. The pipeline is the poller's own code (`decode_art` + `render_all`/`render`). Rounds
interleave the variants so that machine noise hits them alike; medians are reported.
"""

from __future__ import annotations

import io
import itertools
import json
import math
import subprocess
import sys
from collections.abc import Callable
from functools import partial
from pathlib import Path

from PIL import Image, ImageChops, ImageOps, ImageStat

from bench.common import Result, Stack, check, median, service_env, timed
from contract.profiles import BUILTIN_PROFILES, DEFAULT_PROFILES, Profile, parse_profiles
from fakesonos.covers import cover_image, encode
from harness.processes import REPO_ROOT
from poller.accent import accent_of
from poller.decode import decode_art
from poller.render import Caption, largest_size, levels_apart, render, render_all

BENCH = "pipeline"
SIZES = (3000, 1500, 640)
PROFILES = parse_profiles(DEFAULT_PROFILES)
EVERY_PROFILE = tuple(BUILTIN_PROFILES.values())  # what a household enabling all of them renders
JPEG720 = BUILTIN_PROFILES["jpeg720"]
SQUARE720 = BUILTIN_PROFILES["square720"]
CAPTION = Caption("Blue in Green", "Miles Davis", "Kind of Blue")
MAX_PIXELS = 40_000_000
# One jpeg720 against the naive full decode and resize, by cover size: libjpeg decodes a 3000² cover
# at 1/4 and a 1500² one (the latency bench's) at 1/2; a 640² cover cannot be decoded smaller.
TARGET_ONE_RATIO = {3000: 0.22, 1500: 0.5}
TARGET_ALL_RATIO = 2.0
TARGET_EVERY_RATIO = 4.0
TARGET_MEMORY_MIB = 40.0
TARGET_ACCENT_MS = 2.0
# Visually lossless: differences of about one level in 255, below what JPEG q85 itself loses.
TARGET_PSNR_DB = 40.0


def cover(size: int) -> bytes:
    """A generated cover as fakesonos serves them (gradient and title), baseline JPEG q85."""
    with cover_image(f"Cover {size}", "Benchmark", f"bench-{size}", (size, size)) as image:
        return encode(image, "JPEG")


# --- naive baseline ---------------------------------------------------------------------------------


def naive_render(data: bytes, profile: Profile) -> bytes:
    """One profile the naive way: full decode, LANCZOS, full median cut (bar text left out)."""
    with Image.open(io.BytesIO(data)) as opened, opened.convert("RGB") as full:
        box = (profile.height, profile.height) if profile.layout == "bar" else (profile.width, profile.height)
        art = ImageOps.fit(full, box, Image.Resampling.LANCZOS)
    if profile.layout == "bar":
        with art, Image.new("RGB", (960, 320)) as canvas:
            canvas.paste(art, (0, 0))
            art = canvas.transpose(Image.Transpose.ROTATE_270)
    with art:
        out = io.BytesIO()
        if profile.format == "jpeg":
            art.save(out, "JPEG", quality=85, optimize=True)
        elif profile.colors:
            with art.quantize(profile.colors, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE) as p:
                p.save(out, profile.format.upper())
        else:
            art.save(out, profile.format.upper())
        return out.getvalue()


def naive_all(data: bytes) -> dict[str, bytes]:
    """Every profile, one decode each."""
    return {p.name: naive_render(data, p) for p in PROFILES}


# --- the poller's pipeline --------------------------------------------------------------------------


def pipeline_all(data: bytes) -> dict[str, bytes]:
    """Every default profile from one bounded decode, as the poller renders them."""
    with decode_art(data, MAX_PIXELS, largest_size(PROFILES)) as base:
        return render_all(base, PROFILES, CAPTION)


def pipeline_every(data: bytes) -> dict[str, bytes]:
    """Every built-in profile (e-ink and round panels too) from one bounded decode."""
    with decode_art(data, MAX_PIXELS, largest_size(EVERY_PROFILE)) as base:
        return render_all(base, EVERY_PROFILE, CAPTION)


def pipeline_one(data: bytes) -> bytes:
    """One jpeg720, as the poller renders it when that is the only profile."""
    with decode_art(data, MAX_PIXELS, largest_size([JPEG720])) as base:
        return render(base, JPEG720, CAPTION)


def draft_2x_one(data: bytes) -> bytes:
    """For comparison only: jpeg720 decoded at twice the box (Pillow's `thumbnail` default), not 1x."""
    with decode_art(data, MAX_PIXELS, (JPEG720.width * 2, JPEG720.height * 2)) as base:
        return render(base, JPEG720, CAPTION)


def encoding_psnr(data: bytes) -> float:
    """PSNR of the naive jpeg720 against its own unencoded pixels: what JPEG q85 alone loses."""
    with Image.open(io.BytesIO(data)) as opened, opened.convert("RGB") as full:
        fitted = ImageOps.fit(full, (JPEG720.width, JPEG720.height), Image.Resampling.LANCZOS)
    with fitted:
        out = io.BytesIO()
        fitted.save(out, "PNG")
        return psnr(out.getvalue(), naive_render(data, JPEG720))


def palette_fidelity(data: bytes, *renditions: bytes) -> list[tuple[float, int]]:
    """Per 720² rendition, (PSNR dB, error of its worst 0.1 % of pixels in levels) vs the unquantized fit."""
    with Image.open(io.BytesIO(data)) as opened, opened.convert("RGB") as full:
        fitted = ImageOps.fit(full, (720, 720), Image.Resampling.LANCZOS)
    with fitted:
        exact = io.BytesIO()
        fitted.save(exact, "PNG")
        measured = []
        for rendered in renditions:
            with (
                Image.open(io.BytesIO(rendered)) as out,
                out.convert("RGB") as rgb,
                levels_apart(fitted, rgb) as worst,
            ):
                counts = worst.histogram()
            # The level up to which 99.9 % of the pixels' largest channel error lies.
            limit = 0.999 * sum(counts)
            level = next(level for level, below in enumerate(itertools.accumulate(counts)) if below >= limit)
            measured.append((psnr(exact.getvalue(), rendered), level))
    return measured


def pyvips_one(data: bytes) -> bytes:
    """jpeg720 with libvips' thumbnail, if pyvips is importable."""
    import pyvips  # type: ignore[import-untyped]  # noqa: PLC0415 - optional

    image = pyvips.Image.thumbnail_buffer(data, 720, height=720, crop="centre")
    return bytes(image.jpegsave_buffer(Q=85, optimize_coding=True))


def psnr(reference: bytes, candidate: bytes) -> float:
    """PSNR in dB of one encoded image against another of the same size."""
    with (
        Image.open(io.BytesIO(reference)) as a,
        Image.open(io.BytesIO(candidate)) as b,
        a.convert("RGB") as ra,
        b.convert("RGB") as rb,
        ImageChops.difference(ra, rb) as diff,
    ):
        mse = sum(v * v for v in ImageStat.Stat(diff).rms) / 3
    return 99.0 if mse == 0 else 10 * math.log10(255 * 255 / mse)


# --- peak memory, each in a fresh interpreter ----------------------------------------------------------

MODES: dict[str, Callable[[bytes], object]] = {
    "pipeline-all": pipeline_all,
    "pipeline-one": pipeline_one,
    "naive-all": naive_all,
}


def _peak_child(path: str, mode: str) -> None:
    """Run in a child: print the peak RSS added by one run of mode (after a warm-up on a tiny image)."""
    data = Path(path).read_bytes()
    with cover_image("warm", "", "", (64, 64)) as tiny:
        MODES[mode](encode(tiny, "JPEG"))
    before = _peak_rss_kib()
    MODES[mode](data)
    after = _peak_rss_kib()
    print(json.dumps({"added_kib": after - before, "baseline_kib": before}))


def _peak_rss_kib() -> int:
    """VmHWM: this process's peak RSS (ru_maxrss would include the parent's, inherited across exec)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    raise RuntimeError("no VmHWM in /proc/self/status")


def peak_added_mib(path: Path, mode: str) -> float:
    """Peak RSS one run adds, measured in a child process."""
    output = subprocess.run(
        [sys.executable, "-m", "bench.pipeline", "--peak", str(path), mode],
        capture_output=True,
        text=True,
        check=True,
        cwd=REPO_ROOT,
        env=service_env(),
    ).stdout
    return float(json.loads(output)["added_kib"]) / 1024


# --- the benchmark ---------------------------------------------------------------------------------


def run(quick: bool = False) -> list[Result]:
    """Measure; returns the result records."""
    rounds = 3 if quick else 15  # single calls of 15-80 ms: fewer rounds let one slow call move a median
    try:
        import pyvips  # noqa: F401, PLC0415

        have_pyvips = True
    except ImportError:
        have_pyvips = False
    results: list[Result] = []
    with Stack(BENCH) as stack:
        for size in SIZES:
            data = cover(size)
            source = stack.tmp / f"cover-{size}.jpg"
            source.write_bytes(data)
            variants: dict[str, Callable[[], object]] = {
                "naive one": partial(naive_render, data, JPEG720),
                "pipeline one": partial(pipeline_one, data),
                "naive all": partial(naive_all, data),
                "pipeline all": partial(pipeline_all, data),
                "pipeline every": partial(pipeline_every, data),
                "draft 2x one": partial(draft_2x_one, data),
            }
            if have_pyvips:
                variants["pyvips one"] = partial(pyvips_one, data)
            for variant in variants.values():  # warm-up: codecs, fonts
                variant()
            times: dict[str, list[float]] = {key: [] for key in variants}
            for _ in range(rounds):
                for key, variant in variants.items():
                    times[key] += timed(variant, 1)
            ms = {key: 1000 * median(values) for key, values in times.items()}

            def paired(numerator: str, denominator: str, times: dict[str, list[float]] = times) -> float:
                """Median of the ratio within each round: both ran within a second of each other."""
                return median(a / b for a, b in zip(times[numerator], times[denominator], strict=True))

            naive_jpeg = naive_render(data, JPEG720)
            quality = psnr(naive_jpeg, pipeline_one(data))
            one_ratio = paired("pipeline one", "naive one")
            all_ratio = paired("pipeline all", "pipeline one")
            every_ratio = paired("pipeline every", "pipeline one")
            src = f"{size}² ({len(data) // 1024} KiB)"
            one_target = TARGET_ONE_RATIO.get(size)
            results.append(
                Result(
                    BENCH,
                    f"{src}: one jpeg720 vs naive",
                    one_ratio,
                    "x",
                    target=f"≤ {one_target}× naive" if one_target else "",
                    passed=check(one_ratio, "<=", one_target) if one_target else None,
                    baseline=f"naive {ms['naive one']:.1f} ms",
                    detail=f"{ms['pipeline one']:.1f} ms; decoding at twice the size would take "
                    f"{ms['draft 2x one']:.1f} ms ({paired('draft 2x one', 'naive one'):.2f}×); "
                    f"medians of {rounds} interleaved rounds, ratios within each round",
                    extra={k: round(v, 2) for k, v in ms.items()},
                )
            )
            results.append(
                Result(
                    BENCH,
                    f"{src}: jpeg720 PSNR vs naive",
                    quality,
                    "dB",
                    target=f"≥ {TARGET_PSNR_DB:g} dB",
                    passed=check(quality, ">=", TARGET_PSNR_DB),
                    baseline=f"JPEG q85 alone: {encoding_psnr(data):.1f} dB",
                    detail=f"decoded at twice the size: {psnr(naive_jpeg, draft_2x_one(data)):.1f} dB",
                )
            )
            results.append(
                Result(
                    BENCH,
                    f"{src}: all {len(PROFILES)} default profiles vs one rendition",
                    all_ratio,
                    "x",
                    target=f"≤ {TARGET_ALL_RATIO:g}× one",
                    passed=check(all_ratio, "<=", TARGET_ALL_RATIO),
                    baseline=f"one jpeg720 {ms['pipeline one']:.1f} ms; naive all {ms['naive all']:.1f} ms",
                    detail=f"{ms['pipeline all']:.1f} ms = "
                    f"{ms['pipeline all'] / ms['naive all']:.2f}× naive all",
                )
            )
            results.append(
                Result(
                    BENCH,
                    f"{src}: all {len(EVERY_PROFILE)} built-in profiles vs one rendition",
                    every_ratio,
                    "x",
                    target=f"≤ {TARGET_EVERY_RATIO:g}× one",
                    passed=check(every_ratio, "<=", TARGET_EVERY_RATIO),
                    baseline=f"one jpeg720 {ms['pipeline one']:.1f} ms",
                    detail=f"{ms['pipeline every']:.1f} ms, with the e-ink dithering and the round masks",
                )
            )
            (ours_db, ours_worst), (original_db, original_worst) = palette_fidelity(
                data, pipeline_all(data)[SQUARE720.name], naive_render(data, SQUARE720)
            )
            results.append(
                Result(
                    BENCH,
                    f"{src}: square720 64-colour PSNR vs the original's median cut",
                    ours_db - original_db,
                    "dB",
                    target="≥ 0 dB",
                    passed=check(ours_db - original_db, ">=", 0),
                    baseline=f"median cut of every pixel {original_db:.1f} dB",
                    detail=f"{ours_db:.1f} dB against the unquantized fit; the worst 0.1 % of pixels "
                    f"off by {ours_worst} levels (median cut {original_worst}): the cover's white title",
                )
            )
            if have_pyvips:
                results.append(
                    Result(
                        BENCH,
                        f"{src}: pyvips one jpeg720 (reference)",
                        ms["pyvips one"],
                        "ms",
                        baseline=f"pipeline {ms['pipeline one']:.1f} ms",
                        detail=f"{paired('pyvips one', 'naive one'):.2f}× naive; PSNR vs naive "
                        f"{psnr(naive_jpeg, pyvips_one(data)):.1f} dB",
                    )
                )
        big = stack.tmp / "cover-3000.jpg"
        added = {mode: peak_added_mib(big, mode) for mode in ("pipeline-all", "naive-all")}
    results.append(
        Result(
            BENCH,
            "3000²: peak memory added, all profiles",
            added["pipeline-all"],
            "MiB",
            target=f"≤ {TARGET_MEMORY_MIB:g} MiB",
            passed=check(added["pipeline-all"], "<=", TARGET_MEMORY_MIB),
            baseline=f"naive {added['naive-all']:.1f} MiB",
            detail="max RSS of a fresh interpreter, after a warm-up, minus before",
        )
    )
    results.append(accent_result(rounds))
    if not have_pyvips:
        results.append(Result(BENCH, "pyvips", 0, "", detail="not importable here; not installed (optional)"))
    return results


def accent_result(rounds: int) -> Result:
    """The accent colours of a 720² image already decoded, against rendering its jpeg720."""
    with (
        decode_art(cover(1500), MAX_PIXELS, (720, 720)) as decoded,
        decoded.resize((720, 720), Image.Resampling.LANCZOS) as image,
    ):
        accent_of(image)  # warm-up
        render(image, JPEG720, CAPTION)
        accent_ms = 1000 * median(timed(partial(accent_of, image), 20 * rounds))
        render_ms = 1000 * median(timed(partial(render, image, JPEG720, CAPTION), 2 * rounds))
    return Result(
        BENCH,
        "720²: accent colours from the decoded pixels",
        accent_ms,
        "ms",
        target=f"< {TARGET_ACCENT_MS:g} ms",
        passed=check(accent_ms, "<", TARGET_ACCENT_MS),
        baseline=f"rendering its jpeg720: {render_ms:.1f} ms",
        detail=f"{accent_ms / render_ms:.2f}× one rendition; median of {20 * rounds} calls",
    )


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--peak":
        _peak_child(sys.argv[2], sys.argv[3])
    else:
        print("usage: python -m bench.pipeline --peak FILE MODE", file=sys.stderr)
        sys.exit(2)
