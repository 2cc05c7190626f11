"""`make gallery`: every built-in profile from one fixed cover, on one sheet at true aspect."""

from __future__ import annotations

import importlib.util
from pathlib import Path

from PIL import Image

from contract.profiles import BUILTIN_PROFILES

REPO_ROOT = Path(__file__).resolve().parents[2]


def test_the_gallery_sheet_holds_every_built_in_profile_at_its_aspect(tmp_path: Path):
    spec = importlib.util.spec_from_file_location("make_gallery", REPO_ROOT / "docs" / "make_gallery.py")
    assert spec is not None
    assert spec.loader is not None
    make_gallery = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(make_gallery)
    out = tmp_path / "profiles.png"

    assert make_gallery.main(out) == 0

    height = make_gallery.TILE_HEIGHT_PIXELS
    widths = [round(p.width * height / p.height) for p in BUILTIN_PROFILES.values()]
    with Image.open(out) as sheet:
        assert sheet.size == (
            sum(widths) + make_gallery.GAP_PIXELS * (len(widths) + 1),
            height + make_gallery.LABEL_PIXELS + 2 * make_gallery.GAP_PIXELS,
        )
