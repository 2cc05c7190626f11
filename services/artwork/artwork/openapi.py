"""The OpenAPI 3.1 document of the service, built from the configured profiles."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from contract.layout import ART_NAME_RE
from contract.profiles import MIME_TYPES, Profile
from contract.zone import ZONE_ID_PATTERN, Source, TransportState

_ERROR = {"$ref": "#/components/schemas/Error"}
_IMAGE_TYPES = sorted(set(MIME_TYPES.values()))


def _json(description: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _error(description: str) -> dict[str, Any]:
    return _json(description, _ERROR)


_NOT_MODIFIED = {"description": "Not modified: the client's ETag is current"}
_UNAVAILABLE = _error("Now-playing state unavailable (Redis down or malformed state); retry after 1 s")
_IMAGE_RESPONSES = {
    "200": {
        "description": "The image; ETag is its content hash",
        "content": {mime: {"schema": {"type": "string", "format": "binary"}} for mime in _IMAGE_TYPES},
    },
    "206": {"description": "Partial content for a Range request"},
    "304": _NOT_MODIFIED,
    "404": _error("Unknown zone, profile or image"),
    "416": _error("Range not satisfiable"),
}
_ETAG_HEADERS = {
    "If-None-Match": {"in": "header", "name": "If-None-Match", "schema": {"type": "string"}},
}


def _wait_parameter(max_wait_seconds: float) -> dict[str, Any]:
    return {
        "in": "query",
        "name": "wait",
        "description": (
            "With an If-None-Match that is current: hold the request (no server thread) until the "
            "zone changes (200, new body) or this many seconds pass (304). Otherwise answered at once."
        ),
        "schema": {"type": "number", "minimum": 0, "maximum": max_wait_seconds},
    }


def _get(summary: str, responses: dict[str, Any], *, head: bool = False, **extra: Any) -> dict[str, Any]:
    operation = {"summary": summary, "responses": responses, **extra}
    item: dict[str, Any] = {"get": operation}
    if head:
        item["head"] = {**operation, "summary": f"{summary} (headers only)"}
    return item


def _zone_schema(profile_names: Sequence[str]) -> dict[str, Any]:
    urls = {
        "type": "object",
        "propertyNames": {"enum": list(profile_names)},
        "additionalProperties": {"type": "string"},
    }
    text = {"type": "string"}
    zone_id = {"type": "string", "pattern": f"^{ZONE_ID_PATTERN}$"}
    return {
        "type": "object",
        "required": [
            "id",
            "name",
            "state",
            "source",
            "title",
            "artist",
            "album",
            "room",
            "group",
            "rooms",
            "position_seconds",
            "duration_seconds",
            "position_at",
            "image_urls",
            "art_urls",
        ],
        "properties": {
            "id": {**zone_id, "description": "the group's zone id (its coordinator's room)"},
            "room": {**zone_id, "description": "the room or zone the URL named"},
            "group": {**zone_id, "description": "the zone id of the group the room is in (= id)"},
            "rooms": {
                "type": "array",
                "description": "the rooms of the group (bonded speakers are not rooms)",
                "items": {"$ref": "#/components/schemas/RoomRef"},
            },
            "name": text,
            "coordinator_uid": text,
            "members": {
                "type": "array",
                "items": {"type": "object", "properties": {"uid": text, "name": text}},
            },
            "state": {"enum": [s.value for s in TransportState]},
            "source": {"enum": [s.value for s in Source]},
            "title": text,
            "artist": text,
            "album": text,
            "station": text,
            "duration": text,
            "art_url": text,
            "art_hash": text,
            "accent": {**text, "description": "#rrggbb: the cover's dominant colour"},
            "accent_text": {**text, "description": "#rrggbb: black or white, readable on accent"},
            "accent_muted": {**text, "description": "#rrggbb: a dark variant of accent, for backgrounds"},
            "position_seconds": {
                "type": "integer",
                "description": "seconds into the track at position_at; add the time since while PLAYING",
            },
            "duration_seconds": {
                "type": "integer",
                "description": "the track's length; 0 for none (radio, line-in, TV)",
            },
            "position_at": {"type": "integer", "description": "unix milliseconds of the position reading"},
            "images": {"type": "object", "additionalProperties": {"type": "string"}},
            "version": {"type": "integer"},
            "updated_at": {"type": "integer", "description": "unix milliseconds"},
            "image_urls": {**urls, "description": "no-cache URL of the room's current image per profile"},
            "art_urls": {**urls, "description": "immutable URL of the current rendition per profile"},
        },
    }


def openapi_document(profiles: Sequence[Profile], max_wait_seconds: float = 30.0) -> dict[str, Any]:
    """The document; profile names and extensions, and the cap of `wait`, are the configured ones."""
    names = [p.name for p in profiles]
    text = {"type": "string"}
    zone_id = {
        "in": "path",
        "name": "zone_id",
        "required": True,
        "description": "a zone id, or a room's id (its group answers)",
        "schema": text,
    }
    legacy_image = _IMAGE_RESPONSES | {"503": _UNAVAILABLE}
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Sonos artwork",
            "version": "1",
            "description": (
                "Album art and now-playing state for small displays. Every response allows any "
                "origin (CORS). Any request may also get a 503 `too many connections` when a worker "
                "is at its connection limit."
            ),
        },
        "paths": {
            "/": _get("Kiosk page", {"200": {"description": "HTML page"}, "304": _NOT_MODIFIED}),
            "/api/zones": _get(
                "Every zone's (group's) now-playing state, and every room with the group it is in",
                {
                    "200": _json("Zones by id", {"$ref": "#/components/schemas/ZoneList"}),
                    "304": _NOT_MODIFIED,
                    "503": _UNAVAILABLE,
                },
                parameters=list(_ETAG_HEADERS.values()),
            ),
            "/api/zones/{zone_id}": _get(
                "One zone's now-playing state; a room's id gives its group's, with `room` set",
                {
                    "200": _json("The zone", {"$ref": "#/components/schemas/Zone"}),
                    "304": _NOT_MODIFIED,
                    "400": _error("wait is not a number of seconds within its range"),
                    "404": _error("Unknown zone or room"),
                    "503": _UNAVAILABLE,
                },
                parameters=[zone_id, *_ETAG_HEADERS.values(), _wait_parameter(max_wait_seconds)],
            ),
            "/api/zones/{zone_id}/events": _get(
                "Server-sent events: the zone's JSON (`event: zone`, `id:` its ETag) at connect and at"
                " each change, a comment every 15 s; a Last-Event-ID that is current skips the first",
                {
                    "200": {"description": "text/event-stream, until the client or the server closes"},
                    "404": _error("Unknown zone or room"),
                    "503": _error("No room for another stream (ARTWORK_MAX_WAITERS); poll with ?wait="),
                },
                parameters=[
                    zone_id,
                    {"in": "header", "name": "Last-Event-ID", "schema": {"type": "string"}},
                ],
            ),
            "/zones/{zone_id}/{filename}": _get(
                "The zone's (or the room's group's) current image for a profile (Cache-Control: no-cache)",
                _IMAGE_RESPONSES
                | {"400": _error("wait is not a number of seconds within its range"), "503": _UNAVAILABLE},
                head=True,
                parameters=[
                    zone_id,
                    {
                        "in": "path",
                        "name": "filename",
                        "required": True,
                        "schema": {"enum": [f"{p.name}.{p.ext}" for p in profiles]},
                    },
                    *_ETAG_HEADERS.values(),
                    _wait_parameter(max_wait_seconds),
                ],
            ),
            "/art/{filename}": _get(
                "An immutable rendition (Cache-Control: public, max-age=31536000, immutable)",
                _IMAGE_RESPONSES,
                head=True,
                parameters=[
                    {
                        "in": "path",
                        "name": "filename",
                        "required": True,
                        "schema": {"type": "string", "pattern": ART_NAME_RE.pattern},
                    }
                ],
            ),
            "/metadata.json": _get(
                "Legacy: the default zone's track, as the original Qualia clients read it",
                {
                    "200": _json("Track", {"$ref": "#/components/schemas/LegacyMetadata"}),
                    "304": _NOT_MODIFIED,
                    "503": _UNAVAILABLE,
                },
            ),
            "/Adafruit/artwork.bmp": _get(
                "Legacy: the default zone's square720 BMP", legacy_image, head=True
            ),
            "/Adafruit/artwork_bar.bmp": _get(
                "Legacy: the default zone's bar320x960 BMP", legacy_image, head=True
            ),
            "/status": _get(
                "Human-readable status page",
                {"200": {"description": "HTML"}, "503": {"description": "HTML; Redis is unavailable"}},
            ),
            "/gallery": _get(
                "The zone (?zone=, else the default) in every configured profile, side by side",
                {"200": {"description": "HTML"}, "404": _json("No zone to show", _ERROR)},
            ),
            "/healthz": _get("Liveness", {"200": _json("Alive", {"type": "object"})}),
            "/readyz": _get(
                "Readiness: Redis reachable and the artwork volume readable",
                {"200": _json("Ready", {"type": "object"}), "503": _json("Not ready", {"type": "object"})},
            ),
            "/metrics": _get("Prometheus metrics of all workers", {"200": {"description": "text format"}}),
            "/openapi.json": _get(
                "This document", {"200": _json("OpenAPI 3.1", {"type": "object"}), "304": _NOT_MODIFIED}
            ),
        },
        "components": {
            "schemas": {
                "Error": {
                    "type": "object",
                    "required": ["error"],
                    "properties": {"error": {"type": "string"}, "detail": {"type": "string"}},
                },
                "Zone": _zone_schema(names),
                "ZoneList": {
                    "type": "object",
                    "required": ["default_zone", "zones", "rooms"],
                    "properties": {
                        "default_zone": {"type": ["string", "null"]},
                        "zones": {"type": "array", "items": {"$ref": "#/components/schemas/Zone"}},
                        "rooms": {
                            "type": "array",
                            "description": "every room by name, with the zone id of its group",
                            "items": {
                                "allOf": [
                                    {"$ref": "#/components/schemas/RoomRef"},
                                    {"type": "object", "required": ["group"], "properties": {"group": text}},
                                ]
                            },
                        },
                    },
                },
                "RoomRef": {
                    "type": "object",
                    "required": ["id", "name"],
                    "properties": {"id": text, "name": text},
                },
                "LegacyMetadata": {
                    "type": "object",
                    "required": ["title", "artist", "album", "last_updated"],
                    "properties": {
                        "title": {"type": "string"},
                        "artist": {"type": "string"},
                        "album": {"type": "string"},
                        "last_updated": {"type": "number", "description": "unix seconds; 0 when unknown"},
                    },
                },
            }
        },
    }
