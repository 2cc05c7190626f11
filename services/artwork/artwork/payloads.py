"""Pure decisions: which rendition a URL means, and the JSON the API sends."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
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


def zone_payload(zone: ZoneState, profiles: Iterable[Profile], room: str = "") -> dict[str, Any]:
    """The zone's JSON as seen from a room of it (its coordinator's by default), with image URLs.

    `room` is the id asked for, `group` the zone it resolved to; the image URLs keep the room, so
    a display that follows them stays with its room whatever group it joins.
    """
    room = room or zone.zone_id
    image_urls: dict[str, str] = {}
    art_urls: dict[str, str] = {}
    for profile in profiles:
        name = zone_rendition(zone, profile)
        if name is not None:
            image_urls[profile.name] = zone_image_url(room, profile)
            art_urls[profile.name] = art_url(name)
    return {
        **zone.to_json_dict(),
        "room": room,
        "group": zone.zone_id,
        "rooms": zone_rooms(zone),
        "image_urls": image_urls,
        "art_urls": art_urls,
    }


def zone_rooms(zone: ZoneState) -> list[dict[str, str]]:
    """The rooms of a zone's group, by id and name, in name order."""
    return [{"id": member.room_id, "name": member.name} for member in zone.members]


def rooms_payload(zones: Sequence[ZoneState], rooms: Mapping[str, str]) -> list[dict[str, str]]:
    """Every room with its name and the group it is in, sorted by name (the kiosk's picker)."""
    found = {r["id"]: {**r, "group": zone.zone_id} for zone in zones for r in zone_rooms(zone)}
    for zone in zones:  # a zone from a poller that wrote no members is still its own room
        found.setdefault(zone.zone_id, {"id": zone.zone_id, "name": zone.name, "group": zone.zone_id})
    for room, group in rooms.items():  # the map wins: a group's members may lag a move for a moment
        found[room] = {"id": room, "name": found.get(room, {}).get("name", room), "group": group}
    return sorted(found.values(), key=lambda r: (r["name"].casefold(), r["id"]))


def zones_payload(
    zones: Sequence[ZoneState], profiles: Sequence[Profile], default_zone: str, rooms: Mapping[str, str]
) -> dict[str, Any]:
    """The zone list's JSON: the groups, and every room with the group it is in."""
    return {
        "default_zone": default_zone_id(default_zone, [z.zone_id for z in zones]),
        "zones": [zone_payload(zone, profiles) for zone in zones],
        "rooms": rooms_payload(zones, rooms),
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
