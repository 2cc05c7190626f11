"""Display profiles: what each rendition of the album art looks like."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from contract.errors import ConfigError

ImageFormat = Literal["bmp", "jpeg", "png"]
Layout = Literal["cover", "bar", "round"]

RENDER_VERSION = 5
"""Bump when rendering changes, so content-addressed names change with it."""

EXTENSIONS: dict[ImageFormat, str] = {"bmp": "bmp", "jpeg": "jpg", "png": "png"}
MIME_TYPES: dict[str, str] = {"bmp": "image/bmp", "jpg": "image/jpeg", "png": "image/png"}

PROFILE_NAME_PATTERN = r"[a-z0-9][a-z0-9_]{0,31}"
_CUSTOM_RE = re.compile(rf"^({PROFILE_NAME_PATTERN})=(\d{{2,4}})x(\d{{2,4}})\.(bmp|jpe?g|png)$")
_MAX_SIDE_PIXELS = 4096


@dataclass(frozen=True)
class Profile:
    """One rendition: size in pixels, file format and layout."""

    name: str
    width: int
    height: int
    format: ImageFormat
    layout: Layout = "cover"
    colors: int | None = None  # palette size for indexed BMP/PNG; None means full colour

    @property
    def ext(self) -> str:
        """File extension used on disk and in URLs."""
        return EXTENSIONS[self.format]

    @property
    def mime_type(self) -> str:
        """HTTP content type of the rendition."""
        return MIME_TYPES[self.ext]

    @property
    def spec(self) -> str:
        """Everything that changes the output, as a string for content addressing."""
        return (
            f"{self.name}:{self.width}x{self.height}:{self.format}:{self.layout}:"
            f"{self.colors}:v{RENDER_VERSION}"
        )


BUILTIN_PROFILES: dict[str, Profile] = {
    p.name: p
    for p in (
        # The original Qualia square client loads this with adafruit_imageload.
        Profile("square720", 720, 720, "bmp", colors=64),
        # 960x320 composite (art + text) rotated to the bar panel's portrait framebuffer.
        Profile("bar320x960", 320, 960, "bmp", layout="bar", colors=64),
        Profile("jpeg720", 720, 720, "jpeg"),
        Profile("jpeg480", 480, 480, "jpeg"),
        Profile("round480", 480, 480, "jpeg", layout="round"),
        Profile("png480", 480, 480, "png"),
    )
}

DEFAULT_PROFILES = "square720,bar320x960,jpeg720"


def parse_profiles(value: str) -> tuple[Profile, ...]:
    """Parse `ARTWORK_PROFILES`: built-in names and `name=WxH.fmt` custom profiles."""
    profiles: dict[str, Profile] = {}
    for item in (part.strip() for part in value.split(",")):
        if not item:
            continue
        profile = BUILTIN_PROFILES.get(item) or _parse_custom(item)
        if profile.name in profiles:
            raise ConfigError(f"ARTWORK_PROFILES: profile {profile.name!r} is listed twice")
        profiles[profile.name] = profile
    if not profiles:
        raise ConfigError("ARTWORK_PROFILES: at least one profile is required")
    return tuple(profiles.values())


def _parse_custom(item: str) -> Profile:
    match = _CUSTOM_RE.match(item)
    if match is None:
        raise ConfigError(
            f"ARTWORK_PROFILES: {item!r} is neither a built-in profile "
            f"({', '.join(BUILTIN_PROFILES)}) nor of the form name=WIDTHxHEIGHT.bmp|jpg|png"
        )
    name, width, height, ext = match.groups()
    if name in BUILTIN_PROFILES:
        raise ConfigError(f"ARTWORK_PROFILES: {name!r} is a built-in profile name")
    w, h = int(width), int(height)
    if not (16 <= w <= _MAX_SIDE_PIXELS and 16 <= h <= _MAX_SIDE_PIXELS):
        raise ConfigError(f"ARTWORK_PROFILES: {item!r} sides must be 16..{_MAX_SIDE_PIXELS} pixels")
    fmt: ImageFormat = "jpeg" if ext in ("jpg", "jpeg") else "bmp" if ext == "bmp" else "png"
    return Profile(name, w, h, fmt, colors=64 if fmt == "bmp" else None)
