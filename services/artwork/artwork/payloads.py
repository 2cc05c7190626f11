"""Pure decisions: which rendition a URL means, and the JSON the API sends."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from typing import Any

from contract.layout import ArtName, parse_art_relpath
from contract.profiles import Profile
from contract.zone import ZoneState

_ETAG_HEX_CHARS = 32


def split_image_filename(filename: str) -> tuple[str, str] | None:
    """`square720.bmp` -> (`square720`, `bmp`); None when there is no extension."""
    profile, dot, ext = filename.rpartition(".")
    if not dot or not profile or not ext:
        return None
    return profile, ext


def zone_rendition(zone: ZoneState, profile: Profile) -> ArtName | None:
    """The zone's current rendition for a profile, if its stored path is valid and matches it."""
    relpath = zone.images.get(profile.name)
    if relpath is None:
        return None
    name = parse_art_relpath(relpath)
    if name is None or name.profile != profile.name or name.ext != profile.ext:
        return None
    return name


def zone_image_url(zone_id: str, profile: Profile) -> str:
    """The no-cache URL of a zone's current image."""
    return f"/zones/{zone_id}/{profile.name}.{profile.ext}"


def art_url(name: ArtName) -> str:
    """The immutable URL of one rendition."""
    return f"/art/{name.filename}"


def zone_payload(zone: ZoneState, profiles: Iterable[Profile]) -> dict[str, Any]:
    """The zone's JSON: the contract's fields plus URLs for every configured profile it has."""
    image_urls: dict[str, str] = {}
    art_urls: dict[str, str] = {}
    for profile in profiles:
        name = zone_rendition(zone, profile)
        if name is not None:
            image_urls[profile.name] = zone_image_url(zone.zone_id, profile)
            art_urls[profile.name] = art_url(name)
    return {**zone.to_json_dict(), "image_urls": image_urls, "art_urls": art_urls}


def resolve_default_zone(configured: str, zone_ids: Sequence[str]) -> str | None:
    """The configured default zone if set, else the first zone id; None when there is none."""
    if configured:
        return configured
    return zone_ids[0] if zone_ids else None


def zones_payload(
    zones: Sequence[ZoneState], profiles: Sequence[Profile], default_zone: str
) -> dict[str, Any]:
    """The zone list's JSON."""
    return {
        "default_zone": resolve_default_zone(default_zone, [z.zone_id for z in zones]),
        "zones": [zone_payload(zone, profiles) for zone in zones],
    }


def json_body(payload: Any) -> bytes:
    """Canonical JSON, so equal payloads get equal bytes and equal ETags."""
    return json.dumps(payload, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()


def body_etag(body: bytes) -> str:
    """An unquoted ETag for a response body."""
    return hashlib.sha256(body).hexdigest()[:_ETAG_HEX_CHARS]
