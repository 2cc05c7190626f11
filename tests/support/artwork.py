"""Renditions made by the poller's own renderer, written where the poller writes them."""

from __future__ import annotations

from pathlib import Path

from PIL import Image

from contract.layout import ArtName, rendition_name
from contract.profiles import Profile
from poller.decode import decode_art
from poller.render import Caption, render
from tests.support.images import jpeg_bytes


def write_real_rendition(
    artwork_dir: Path,
    profile: Profile,
    *,
    colour: tuple[int, int, int] = (200, 40, 90),
    caption: Caption | None = None,
) -> ArtName:
    """Render album art of one colour for a profile exactly as the poller does; returns its name."""
    caption = caption or Caption("Blue in Green", "Miles Davis", "Kind of Blue")
    with decode_art(jpeg_bytes(colour=colour), 40_000_000, (720, 720)) as base:
        return write_rendition_of(artwork_dir, profile, base, f"colour-{colour}", caption)


def write_rendition_of(
    artwork_dir: Path, profile: Profile, base: Image.Image, source_id: str, caption: Caption
) -> ArtName:
    """Render a decoded image (a cover, a placeholder) for a profile as the poller does; returns its name."""
    data = render(base, profile, caption)
    name = rendition_name(source_id, profile, caption.as_key())
    path = artwork_dir / name.relpath
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = path.with_suffix(".tmp")
    temp.write_bytes(data)
    temp.replace(path)  # atomically, like the poller
    return name
