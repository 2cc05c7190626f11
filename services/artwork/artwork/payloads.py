"""Pure decisions: which rendition a URL means, and the JSON the API sends."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from typing import Any

from contract.layout import ArtName, parse_art_relpath
from contract.profiles import Profile
from contract.zone import ZoneState, default_zone_id

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


def zones_payload(
    zones: Sequence[ZoneState], profiles: Sequence[Profile], default_zone: str
) -> dict[str, Any]:
    """The zone list's JSON."""
    return {
        "default_zone": default_zone_id(default_zone, [z.zone_id for z in zones]),
        "zones": [zone_payload(zone, profiles) for zone in zones],
    }


def json_body(payload: Any) -> bytes:
    """Canonical JSON, so equal payloads get equal bytes and equal ETags."""
    return json.dumps(payload, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()


def body_etag(body: bytes) -> str:
    """An unquoted ETag for a response body."""
    return hashlib.sha256(body).hexdigest()[:_ETAG_HEX_CHARS]


def legacy_metadata(zone: ZoneState | None) -> dict[str, Any]:
    """The original clients' `metadata.json`: `last_updated` in unix seconds, 0 when unknown."""
    if zone is None:
        return {"title": "", "artist": "", "album": "", "last_updated": 0}
    return {
        "title": zone.title,
        "artist": zone.artist,
        "album": zone.album,
        "last_updated": zone.updated_at_ms / 1000,
    }
