"""Display profiles: what each rendition of the album art looks like."""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import Literal

from contract.errors import ConfigError

ImageFormat = Literal["bmp", "jpeg", "png"]
# cover: the art alone; bar: art and text, turned for the bar panel; round: art in a circle;
# panel: an e-ink frame, the art with the text beside it where there is room, on the accent colour.
Layout = Literal["cover", "bar", "round", "panel"]
Fit = Literal["crop", "letterbox"]
FITS: tuple[Fit, ...] = ("crop", "letterbox")

RENDER_VERSION = 9
"""Bump when rendering changes, so content-addressed names change with it."""

EXTENSIONS: dict[ImageFormat, str] = {"bmp": "bmp", "jpeg": "jpg", "png": "png"}
MIME_TYPES: dict[str, str] = {"bmp": "image/bmp", "jpg": "image/jpeg", "png": "image/png"}

PROFILE_NAME_PATTERN = r"[a-z0-9][a-z0-9_]{0,31}"
_CUSTOM_RE = re.compile(rf"^({PROFILE_NAME_PATTERN})=(\d{{2,4}})x(\d{{2,4}})\.(bmp|jpe?g|png)$")
_PROFILE_FORM = "name=WIDTHxHEIGHT.bmp|jpg|png, optionally followed by :crop or :letterbox"
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
    # How a cover of another aspect fills the panel: cropped to fill it, or whole with black bars.
    fit: Fit = "crop"
    # An e-ink panel's fixed colours (a key of PALETTES): every pixel is one of them, dithered.
    palette: str | None = None

    @property
    def ext(self) -> str:
        """File extension used on disk and in URLs."""
        return EXTENSIONS[self.format]

    @property
    def spec(self) -> str:
        """Everything that changes the output, as a string for content addressing."""
        # The fit joins the spec only when it is not the default, so crop names stay as they were.
        fit = ":letterbox" if self.fit == "letterbox" else ""
        palette = f":{self.palette}" if self.palette else ""
        return (
            f"{self.name}:{self.width}x{self.height}:{self.format}:{self.layout}:"
            f"{self.colors}:v{RENDER_VERSION}{fit}{palette}"
        )


# E-ink panels' colours, in the order of the panel's own colour indices, as Pimoroni's `inky` library
# (2.6.0) names them (DESATURATED_PALETTE in inky_uc8159.py and inky_e673.py). A PNG of this
# palette goes to the panel index for index: `inky.set_image(Image.open(...))`.
PALETTES: dict[str, tuple[tuple[int, int, int], ...]] = {
    # Inky Impression 5.7" and 4" (UC8159): black, white, green, blue, red, yellow, orange.
    "inky7": (
        (0, 0, 0),
        (255, 255, 255),
        (0, 255, 0),
        (0, 0, 255),
        (255, 0, 0),
        (255, 255, 0),
        (255, 140, 0),
    ),
    # Inky Impression 7.3" Spectra 6 (E673): black, white, yellow, red, blue, green.
    "spectra6": ((0, 0, 0), (255, 255, 255), (255, 255, 0), (255, 0, 0), (0, 0, 255), (0, 255, 0)),
}

# What the original Qualia clients fetch, under the names they always used (legacy URLs, Qualia mirror).
QUALIA_SQUARE_PROFILE = "square720"
QUALIA_BAR_PROFILE = "bar320x960"

BUILTIN_PROFILES: dict[str, Profile] = {
    p.name: p
    for p in (
        # The original Qualia square client loads this with adafruit_imageload.
        Profile(QUALIA_SQUARE_PROFILE, 720, 720, "bmp", colors=64),
        # 960x320 composite (art + text) rotated to the bar panel's portrait framebuffer.
        Profile(QUALIA_BAR_PROFILE, 320, 960, "bmp", layout="bar", colors=64),
        Profile("jpeg720", 720, 720, "jpeg"),
        Profile("jpeg480", 480, 480, "jpeg"),
        Profile("square480", 480, 480, "bmp", colors=64),
        # The round Qualia panels (2.1" and 2.8"): what lies outside the circle is never seen.
        Profile("round480", 480, 480, "bmp", layout="round", colors=64),
        Profile("png480", 480, 480, "png"),
        # Pimoroni Inky Impression e-ink frames, driven from a Pi (see README).
        Profile("inky7", 600, 448, "png", layout="panel", palette="inky7"),
        Profile("spectra6", 800, 480, "png", layout="panel", palette="spectra6"),
    )
}

DEFAULT_PROFILES = "square720,bar320x960,jpeg720"


def parse_profiles(value: str) -> tuple[Profile, ...]:
    """Parse `ARTWORK_PROFILES`: built-in and `name=WxH.fmt` custom profiles, each with an optional fit."""
    profiles: dict[str, Profile] = {}
    for item in (part.strip() for part in value.split(",")):
        if not item:
            continue
        profile = _parse_item(item)
        if profile.name in profiles:
            raise ConfigError(f"ARTWORK_PROFILES: profile {profile.name!r} is listed twice")
        profiles[profile.name] = profile
    if not profiles:
        raise ConfigError("ARTWORK_PROFILES: at least one profile is required")
    return tuple(profiles.values())


def default_fit(width: int, height: int) -> Fit:
    """Square panels crop a cover to fill them; other shapes show it whole, so no text on it is cut."""
    return "crop" if width == height else "letterbox"


def _parse_item(item: str) -> Profile:
    spec, _, fit = item.partition(":")
    builtin = BUILTIN_PROFILES.get(spec)
    profile = builtin or _parse_custom(spec)
    if not fit:
        return profile
    if fit not in FITS:
        raise ConfigError(f"ARTWORK_PROFILES: {item!r}: the fit must be one of {', '.join(FITS)}")
    if profile.layout == "bar":
        raise ConfigError(f"ARTWORK_PROFILES: {item!r}: the bar's layout has no fit to choose")
    return replace(profile, fit=fit)


def _parse_custom(item: str) -> Profile:
    match = _CUSTOM_RE.match(item)
    if match is None:
        raise ConfigError(
            f"ARTWORK_PROFILES: {item!r} is neither a built-in profile "
            f"({', '.join(BUILTIN_PROFILES)}) nor of the form {_PROFILE_FORM}"
        )
    name, width, height, ext = match.groups()
    if name in BUILTIN_PROFILES:
        raise ConfigError(f"ARTWORK_PROFILES: {name!r} is a built-in profile name")
    w, h = int(width), int(height)
    if not (16 <= w <= _MAX_SIDE_PIXELS and 16 <= h <= _MAX_SIDE_PIXELS):
        raise ConfigError(f"ARTWORK_PROFILES: {item!r} sides must be 16..{_MAX_SIDE_PIXELS} pixels")
    fmt: ImageFormat = "jpeg" if ext in ("jpg", "jpeg") else "bmp" if ext == "bmp" else "png"
    return Profile(name, w, h, fmt, colors=64 if fmt == "bmp" else None, fit=default_fit(w, h))


def missing_profile_message(filename: str, configured: tuple[Profile, ...]) -> str:
    """Why `<profile>.<ext>` names no configured rendition, and what would make it one."""
    name = filename.split(".", 1)[0]
    enabled = ", ".join(f"{p.name}.{p.ext}" for p in configured)
    match = next((p for p in configured if p.name == name), None)
    if match is not None:
        return f"profile {name} is served as {name}.{match.ext}"
    builtin = BUILTIN_PROFILES.get(name)
    if builtin is not None:
        return (
            f"profile {name} is not enabled: add it to ARTWORK_PROFILES (now {enabled}) "
            f"and restart, then ask for {name}.{builtin.ext}"
        )
    return f"unknown profile {filename!r}; the profiles here are {enabled}"
