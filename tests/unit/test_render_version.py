"""Content-addressed names change whenever what is rendered changes: an upgrade never keeps old renditions."""

from __future__ import annotations

import hashlib

from contract.profiles import BUILTIN_PROFILES, RENDER_VERSION
from fakesonos.covers import cover_jpeg
from poller.accent import accent_of
from poller.decode import decode_art
from poller.render import Caption, largest_size, render_all

# RENDER_VERSION -> digest of every built-in profile rendered from the cover below. A version that
# renders differently from its digest was changed without a bump: the files cached under its names
# (CACHE_MAX_MB of them, kept for weeks) would go on being served in place of the new renditions.
RENDERED = {
    9: "3fa41e65cc17b9c74685369d319636e5f239b11c178403c65b54eebdbe1cb948",
}
CAPTION = Caption("A Long Title of a Song That Takes Two Lines on the Bar 夜に駆ける", "Ünïcode", "Album")


def test_what_every_profile_renders_is_pinned_to_the_render_version():
    data = cover_jpeg("Pinned", "Render Version", "render-version", 640)
    profiles = list(BUILTIN_PROFILES.values())
    with decode_art(data, 40_000_000, largest_size(profiles)) as base:
        made = render_all(base, profiles, CAPTION, accent_of(base))
    digest = hashlib.sha256(b"".join(made[name] for name in sorted(made))).hexdigest()

    assert RENDERED.get(RENDER_VERSION) == digest, (
        f"what is rendered changed: bump RENDER_VERSION (contract/profiles.py) and pin {digest} to it"
        " here; unless this machine lacks the fonts of the README or the pinned Pillow"
    )
