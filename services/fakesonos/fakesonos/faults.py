"""Faults a test can switch on: per speaker (network behaviour) and per track (album-art responses)."""

from __future__ import annotations

from enum import StrEnum
from typing import TypeVar

E = TypeVar("E", bound=StrEnum)


class SpeakerFault(StrEnum):
    """How a whole speaker misbehaves until the fault is cleared."""

    OFFLINE = "OFFLINE"  # listening socket closed: connections are refused
    HANG = "HANG"  # connections are accepted and requests read, but never answered
    UPNP_DISABLED = "UPNP_DISABLED"  # 403 on control and event URLs, like firmware with UPnP switched off
    EVENTS_LOST = "EVENTS_LOST"  # answers as usual, but no NOTIFY arrives: a network that drops them


class TransitionNotAvailableError(Exception):
    """The transport cannot do that now (UPnP error 701), e.g. Play or Next with nothing queued."""


class IllegalSeekTargetError(Exception):
    """A Seek whose unit or target the speaker does not take (UPnP 711)."""


class ArtFault(StrEnum):
    """How a track's album-art URL misbehaves; image-valued members serve real, decodable images."""

    NOT_FOUND = "NOT_FOUND"
    SERVER_ERROR = "SERVER_ERROR"
    SLOW_DRIP = "SLOW_DRIP"
    STALL = "STALL"
    HUGE_BODY = "HUGE_BODY"
    HUGE_BODY_NO_LENGTH = "HUGE_BODY_NO_LENGTH"
    BOMB = "BOMB"
    TRUNCATED_JPEG = "TRUNCATED_JPEG"
    NOT_AN_IMAGE = "NOT_AN_IMAGE"
    REDIRECT_LOOP = "REDIRECT_LOOP"
    WRONG_CONTENT_TYPE = "WRONG_CONTENT_TYPE"
    CMYK_JPEG = "CMYK_JPEG"
    PALETTE_PNG = "PALETTE_PNG"
    ALPHA_PNG = "ALPHA_PNG"
    EXIF_ROTATED = "EXIF_ROTATED"
    PROGRESSIVE_JPEG = "PROGRESSIVE_JPEG"
    LARGE_3000 = "LARGE_3000"
    HUGE_PIXELS = "HUGE_PIXELS"  # a real 6000x6000 RGB PNG of ~100 KB: under the pixel cap, ~100 MiB decoded


def parse_enum_name(enum: type[E], value: str) -> E:
    """Look a member up by name, case-insensitively (`slow_drip` -> SLOW_DRIP)."""
    try:
        return enum[value.strip().upper()]
    except KeyError:
        raise ValueError(f"{value!r} is not one of {', '.join(m.name for m in enum)}") from None
