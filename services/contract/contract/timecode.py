"""UPnP's `H:MM:SS` times (RelTime, TrackDuration, a Seek target), both ways."""

from __future__ import annotations

import re

_HMS_RE = re.compile(r"^(\d{1,3}):([0-5]?\d):([0-5]?\d)(?:\.\d+)?$")


def hms(seconds: int) -> str:
    """`H:MM:SS`, the UPnP duration format."""
    hours, rest = divmod(max(seconds, 0), 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}"


def parse_hms(text: str) -> int | None:
    """Whole seconds of `H:MM:SS` (fractions dropped); None for anything else (`NOT_IMPLEMENTED`, '')."""
    match = _HMS_RE.match(text.strip())
    if match is None:
        return None
    hours, minutes, seconds = (int(part) for part in match.groups())
    return hours * 3600 + minutes * 60 + seconds
