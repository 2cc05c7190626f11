"""Text on renditions in every script: fonts chosen per character by coverage, shaped by raqm.

No single small font covers every script, and Pillow draws a missing glyph as a box (or nothing),
so a line is cut into runs, each drawn with the first font that has its characters: DejaVu Sans
for Latin, Greek, Cyrillic, Arabic and Hebrew, WenQuanYi Micro Hei for Chinese, Japanese and
Korean, then Thai, Devanagari, Bengali and Tamil (Debian packages in the poller image). Pillow lays
each run out with libraqm when it is there, which shapes Arabic and the Indic scripts and orders
right-to-left text. What no font covers (emoji, mostly) is left out, and logged.
"""

from __future__ import annotations

import functools
import logging
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import regex
from PIL import ImageDraw, ImageFont

from poller.errors import FontsMissing

log = logging.getLogger(__name__)

# In fallback order; the first that has a character draws it. Debian's paths (see the Dockerfile).
FONT_FILES = (
    Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"),
    Path("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc"),  # Hangul too, which Droid Sans Fallback lacks
    Path("/usr/share/fonts/truetype/tlwg/Loma.ttf"),
    Path("/usr/share/fonts/truetype/lohit-devanagari/Lohit-Devanagari.ttf"),
    Path("/usr/share/fonts/truetype/lohit-bengali/Lohit-Bengali.ttf"),
    Path("/usr/share/fonts/truetype/lohit-tamil/Lohit-Tamil.ttf"),
)
# The Debian packages that hold them, in the same order (the Dockerfile and .ci/run install these).
FONT_PACKAGES = (
    "fonts-dejavu-core",
    "fonts-wqy-microhei",
    "fonts-tlwg-loma-ttf",
    "fonts-lohit-deva",
    "fonts-lohit-beng-bengali",
    "fonts-lohit-taml",
)
_PROBE_SIZE = 24  # coverage does not depend on the size; one instance per font answers it
_MISSING = "\U0010ffff"  # a noncharacter: every font draws its .notdef glyph for it
_ELLIPSIS = "…"
_RTL_CLASSES = {"R", "AL"}


@dataclass(frozen=True)
class Run:
    """A stretch of a line drawn with one font."""

    text: str
    font_index: int


@functools.cache
def _probe(font_index: int) -> tuple[ImageFont.FreeTypeFont, bytes, tuple[int, int]]:
    font = ImageFont.truetype(str(installed_fonts()[font_index]), _PROBE_SIZE)
    missing = font.getmask(_MISSING)
    return font, bytes(missing), missing.size


@functools.cache
def installed_fonts() -> tuple[Path, ...]:
    """The fonts of FONT_FILES that exist here, in fallback order (looked up once)."""
    found = tuple(path for path in FONT_FILES if path.is_file())
    if not found:
        raise FontsMissing(
            f"no font for titles: install {', '.join(map(str, FONT_FILES))} "
            f"(Debian: {' '.join(FONT_PACKAGES)})"
        )
    return found


@functools.lru_cache(maxsize=4096)
def font_for(char: str) -> int | None:
    """Index of the first installed font with a glyph for `char`, or None when none has one."""
    for index in range(len(installed_fonts())):
        font, missing, missing_size = _probe(index)
        mask = font.getmask(char)
        if mask.size != missing_size or bytes(mask) != missing:
            return index
    return None


@functools.lru_cache(maxsize=32)
def sized_font(font_index: int, size: int) -> ImageFont.FreeTypeFont:
    """An installed font at a size, parsed once (raqm layout where Pillow has it)."""
    return ImageFont.truetype(str(installed_fonts()[font_index]), size)


def graphemes(text: str) -> list[str]:
    """User-perceived characters (extended grapheme clusters): the only safe places to cut."""
    clusters: list[str] = regex.findall(r"\X", text)
    return clusters


def runs(text: str) -> tuple[list[Run], str]:
    """The line in runs of one font each, and the characters no font has (left out)."""
    result: list[Run] = []
    dropped = []
    for cluster in graphemes(unicodedata.normalize("NFC", text)):
        # A cluster goes with the font of its base character; marks and joiners follow it.
        index = font_for(cluster[0]) if not cluster.isspace() else (result[-1].font_index if result else 0)
        if index is None:
            dropped.append(cluster)
        elif result and result[-1].font_index == index:
            result[-1] = Run(result[-1].text + cluster, index)
        else:
            result.append(Run(cluster, index))
    return result, "".join(dropped)


def is_rtl(text: str) -> bool:
    """Whether the first strongly directional character is right-to-left (Hebrew, Arabic)."""
    for char in text:
        direction = unicodedata.bidirectional(char)
        if direction in _RTL_CLASSES:
            return True
        if direction == "L":
            return False
    return False


@dataclass(frozen=True)
class Line:
    """One line of text laid out for a width: its runs at a size, and its width in pixels."""

    runs: tuple[Run, ...]
    size: int
    width: int
    rtl: bool
    shortened: bool = False  # ends in an ellipsis in place of the rest

    def draw(self, draw: ImageDraw.ImageDraw, x: int, y: int, right: int, fill: tuple[int, int, int]) -> None:
        """Draw at top `y`, from `x` (or ending at `right` for right-to-left text)."""
        position = right - self.width if self.rtl else x
        # Every run on the first font's baseline: fonts differ in ascent (Loma's leaves room for
        # Thai marks), and runs drawn from one top would not sit on one line.
        baseline = y + sized_font(0, self.size).getmetrics()[0]
        for run in self.runs:
            font = sized_font(run.font_index, self.size)
            draw.text((position, baseline), run.text, fill=fill, font=font, anchor="ls")
            position += round(font.getlength(run.text))


def _drawable(text: str) -> str:
    """The text in NFC with what no installed font draws left out (and logged), spaces collapsed."""
    text = " ".join(unicodedata.normalize("NFC", text).split())
    line_runs, dropped = runs(text)
    if not dropped:
        return text
    log.info("no installed font draws %r in %r; left out", dropped, text)
    return " ".join("".join(r.text for r in line_runs).split())  # NFC, as `runs` made it


def layout_line(text: str, size: int, max_width: int) -> Line:
    """Lay out `text` at `size`, shortened with an ellipsis between grapheme clusters to fit."""
    line_runs = runs(_drawable(text))[0]

    def width_of(parts: Sequence[Run]) -> int:
        return sum(round(sized_font(r.font_index, size).getlength(r.text)) for r in parts)

    shown = "".join(r.text for r in line_runs)
    width = width_of(line_runs)
    shortened = width > max_width
    if shortened:
        clusters = graphemes(shown)
        low, high = 0, len(clusters)  # the longest prefix that fits with the ellipsis
        while low < high:
            mid = (low + high + 1) // 2
            if width_of(runs("".join(clusters[:mid]).rstrip() + _ELLIPSIS)[0]) <= max_width:
                low = mid
            else:
                high = mid - 1
        line_runs = runs("".join(clusters[:low]).rstrip() + _ELLIPSIS)[0]
        width = width_of(line_runs)
    return Line(tuple(line_runs), size, width, is_rtl(shown), shortened)


def wrap_lines(text: str, size: int, max_width: int, max_lines: int) -> tuple[Line, ...]:
    """Lay out `text` on up to `max_lines` lines, broken after a space where there is one in reach
    (else between grapheme clusters: Chinese, Japanese and Thai put none between words); the last
    line ends in an ellipsis if the rest does not fit.
    """
    text = _drawable(text)
    lines: list[Line] = []
    while len(lines) < max_lines - 1:
        whole = layout_line(text, size, max_width)
        kept = len(graphemes("".join(r.text for r in whole.runs))) - 1  # the clusters that fit
        if not whole.shortened or kept < 1:
            return (*lines, whole)
        clusters = graphemes(text)
        spaces = [i for i in range(1, kept + 1) if clusters[i - 1] == " " or clusters[i] == " "]
        cut = spaces[-1] if spaces and spaces[-1] > kept // 2 else kept
        lines.append(layout_line("".join(clusters[:cut]).strip(), size, max_width))
        text = "".join(clusters[cut:]).strip()
    return (*lines, layout_line(text, size, max_width))
