"""The gallery page's HTML: one zone in every configured profile, side by side at true aspect."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

_TILE_HEIGHT_PIXELS = 240  # every tile this high on screen, so their shapes compare at a glance


@dataclass(frozen=True)
class Tile:
    """One profile's current rendition: where it is, its shape, format and size."""

    profile: str
    width: int
    height: int
    format: str
    url: str  # empty: the zone has no rendition for this profile yet
    size_bytes: int


def gallery_html(zone_name: str, tiles: Sequence[Tile]) -> str:
    """A page of tiles, each the rendition at its own aspect with its profile, size and format."""
    figures = "".join(_figure(tile) for tile in tiles)
    return (
        "<!DOCTYPE html><html lang=en><head><meta charset=utf-8>"
        f"<title>{escape(zone_name)} in every profile</title><style>"
        "body{margin:16px;background:#16171c;color:#eee;font-family:system-ui,sans-serif}"
        "main{display:flex;flex-wrap:wrap;gap:20px;align-items:flex-end}"
        f"figure{{margin:0}}img,.none{{height:{_TILE_HEIGHT_PIXELS}px;display:block;background:#000}}"
        ".none{display:flex;align-items:center;justify-content:center;color:#888}"
        "figcaption{font-size:13px;margin-top:6px;line-height:1.4}"
        "</style></head>"
        f"<body><h1>{escape(zone_name)} in every profile</h1><main>{figures}</main></body></html>"
    )


def _figure(tile: Tile) -> str:
    aspect = f"aspect-ratio:{tile.width}/{tile.height}"
    if tile.url:
        picture = f'<img src="{escape(tile.url)}" alt="{escape(tile.profile)}" style="{aspect}">'
        size = f"{tile.size_bytes / 1024:,.0f} KiB"
    else:
        picture = f'<div class=none style="{aspect}">not rendered</div>'
        size = "-"
    return (
        f"<figure>{picture}<figcaption><b>{escape(tile.profile)}</b><br>"
        f"{tile.width}×{tile.height} {escape(tile.format)}, {size}</figcaption></figure>"
    )
