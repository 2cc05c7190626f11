"""`make gallery`: every built-in profile rendered from one fixed cover, side by side at true aspect,
into docs/gallery/profiles.png (the README shows it). The same renderer as the poller's.
"""

from __future__ import annotations

import io
import sys
from pathlib import Path

from PIL import Image, ImageDraw

from contract.profiles import BUILTIN_PROFILES
from fakesonos.covers import generated_cover
from poller.accent import accent_of
from poller.decode import decode_art
from poller.render import Caption, largest_size, render_all
from poller.text import layout_line

OUT = Path(__file__).resolve().parent / "gallery" / "profiles.png"
TILE_HEIGHT_PIXELS = 240
GAP_PIXELS = 24
LABEL_PIXELS = 44
CAPTION = Caption("Blue in Green", "Miles Davis", "Kind of Blue")


def main(out: Path = OUT) -> int:
    """Render, lay out and write the gallery; prints where it went."""
    profiles = list(BUILTIN_PROFILES.values())
    cover = generated_cover("Kind of Blue", "Miles Davis", "gallery", 1200)
    with decode_art(cover.data, 40_000_000, largest_size(profiles)) as base:
        renditions = render_all(base, profiles, CAPTION, accent_of(base))
    tiles = []
    for profile in profiles:
        with Image.open(io.BytesIO(renditions[profile.name])) as image, image.convert("RGB") as rgb:
            width = round(profile.width * TILE_HEIGHT_PIXELS / profile.height)
            tiles.append((profile, rgb.resize((width, TILE_HEIGHT_PIXELS), Image.Resampling.LANCZOS)))
    width = sum(tile.width for _, tile in tiles) + GAP_PIXELS * (len(tiles) + 1)
    sheet = Image.new("RGB", (width, TILE_HEIGHT_PIXELS + LABEL_PIXELS + 2 * GAP_PIXELS), (22, 23, 28))
    draw = ImageDraw.Draw(sheet)
    x = GAP_PIXELS
    for profile, tile in tiles:
        sheet.paste(tile, (x, GAP_PIXELS))
        label = f"{profile.name}  {profile.width}×{profile.height} {profile.ext}"
        layout_line(label, 16, tile.width).draw(
            draw, x, GAP_PIXELS + TILE_HEIGHT_PIXELS + 10, x + tile.width, (230, 230, 230)
        )
        x += tile.width + GAP_PIXELS
        tile.close()
    out.parent.mkdir(parents=True, exist_ok=True)
    sheet.save(out, optimize=True)
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
