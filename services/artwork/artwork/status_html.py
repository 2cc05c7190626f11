"""The status page's HTML, from plain values."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

from contract.zone import ZoneState


@dataclass(frozen=True)
class ZoneLine:
    """What the status page shows of one zone."""

    zone_id: str
    name: str
    state: str
    title: str
    artist: str
    album: str
    updated_at_ms: int

    @classmethod
    def of(cls, zone: ZoneState) -> ZoneLine:
        """The line of a zone."""
        return cls(
            zone.zone_id, zone.name, zone.state.value, zone.title, zone.artist, zone.album, zone.updated_at_ms
        )


def _utc(seconds: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(seconds))


def status_html(
    *,
    now_seconds: float,
    default_zone: str,
    zones: Sequence[ZoneLine],
    profiles: Sequence[str],
    redis_error: str,
    volume_readable: bool,
) -> str:
    """A small page: health of Redis and the volume, the zones, and the legacy URLs."""
    rows = "".join(
        f"<tr><td>{escape(z.zone_id)}{' (default)' if z.zone_id == default_zone else ''}</td>"
        f"<td>{escape(z.name)}</td><td>{escape(z.state)}</td><td>{escape(z.title)}</td>"
        f"<td>{escape(z.artist)}</td><td>{escape(z.album)}</td>"
        f"<td>{_utc(z.updated_at_ms / 1000) if z.updated_at_ms else '-'}</td></tr>"
        for z in zones
    )
    redis_line = f"unavailable ({escape(redis_error)})" if redis_error else "ok"
    return (
        "<!DOCTYPE html><html lang=en><head><meta charset=utf-8><title>Sonos artwork status</title></head>"
        "<body><h1>Sonos artwork status</h1>"
        f"<p>Time: {_utc(now_seconds)}</p>"
        f"<p>Redis: {redis_line}</p>"
        f"<p>Artwork volume: {'readable' if volume_readable else 'not readable'}</p>"
        f"<p>Default zone: {escape(default_zone) or 'none yet'}</p>"
        f"<p>Profiles: {escape(', '.join(profiles))}</p>"
        "<h2>Zones</h2><table><tr><th>id</th><th>name</th><th>state</th><th>title</th>"
        f"<th>artist</th><th>album</th><th>updated</th></tr>{rows}</table>"
        "<h2>Display URLs</h2><ul>"
        '<li><a href="/metadata.json">/metadata.json</a></li>'
        '<li><a href="/Adafruit/artwork.bmp">/Adafruit/artwork.bmp</a></li>'
        '<li><a href="/Adafruit/artwork_bar.bmp">/Adafruit/artwork_bar.bmp</a></li>'
        '<li><a href="/">kiosk page</a></li></ul></body></html>'
    )
