"""HTTP routes: health, now-playing JSON and the images themselves."""

from __future__ import annotations

import logging

from flask import Blueprint, Response, request

from artwork.errors import ResourceNotFound, json_response
from artwork.files import art_root_readable
from artwork.payloads import split_image_filename, zone_payload, zone_rendition, zones_payload
from artwork.responses import (
    IMMUTABLE_CACHE_CONTROL,
    REVALIDATE_CACHE_CONTROL,
    LastModified,
    conditional_json,
    send_rendition,
)
from artwork.state import services
from artwork.urls import ART_ROUTE, ZONE_IMAGE_ROUTE
from artwork.waiting import WAIT_PARAMETER, wait_seconds
from contract.layout import parse_art_name
from contract.profiles import Profile, missing_profile_message
from contract.zone import ZONE_ID_RE, ZoneState

log = logging.getLogger(__name__)

bp = Blueprint("artwork", __name__)


@bp.get("/healthz")
def healthz() -> Response:
    """Liveness: the process answers; touches nothing else."""
    return json_response({"status": "ok"})


@bp.get("/readyz")
def readyz() -> Response:
    """Readiness: Redis answers PING and `ARTWORK_DIR/art` is a readable directory."""
    app_services = services()
    checks = {
        "redis": "ok" if app_services.zones.ping() else "unreachable",
        "artwork_dir": "ok" if art_root_readable(app_services.settings.artwork_dir) else "unreadable",
    }
    if all(value == "ok" for value in checks.values()):
        return json_response({"status": "ready", "checks": checks})
    log.warning("not ready: %s", ", ".join(f"{k} {v}" for k, v in checks.items() if v != "ok"))
    return json_response({"error": "not ready", "checks": checks}, 503)


@bp.get("/api/zones")
def list_zones() -> Response:
    """Every zone's now-playing state with image URLs."""
    app_services = services()
    settings, source = app_services.settings, app_services.zones
    zones, rooms = source.list(), source.rooms()
    return conditional_json(zones_payload(zones, settings.profiles, settings.default_zone, rooms))


@bp.get("/api/zones/<zone_id>")
def get_zone(zone_id: str) -> Response:
    """One zone's (or one room's group's) now-playing state with image URLs; `?wait=` may hold it."""
    _check_wait()
    zone = known_zone(zone_id)
    return conditional_json(zone_payload(zone, services().settings.profiles, room=zone_id))


@bp.get("/api/zones/<zone_id>/events")
def zone_events(zone_id: str) -> Response:
    """Reached only when the worker could not keep the stream (at its waiter limit, or stopping)."""
    known_zone(zone_id)
    response = json_response({"error": "no room for another event stream; poll /api/zones/<id>?wait="}, 503)
    response.headers["Retry-After"] = "30"
    return response


@bp.route(ZONE_IMAGE_ROUTE, methods=["GET", "HEAD"])
def zone_image(zone_id: str, filename: str) -> Response:
    """The zone's current image for a profile; revalidated by ETag on every poll; `?wait=` may hold it."""
    _check_wait()
    _check_zone_id(zone_id)
    profile = _profile_for(filename)
    zone = known_zone(zone_id)
    name = zone_rendition(zone, profile)
    if name is None:  # none stored, or a stored path this service will not trust
        raise ResourceNotFound("no image for this zone and profile")
    # No Last-Modified: a zone can switch back to an older rendition, which If-Modified-Since
    # would wrongly call unmodified. The ETag (the content hash) is exact.
    return send_rendition(name, REVALIDATE_CACHE_CONTROL, LastModified.NONE)


@bp.route(ART_ROUTE, methods=["GET", "HEAD"])
def art(filename: str) -> Response:
    """One immutable, content-addressed rendition."""
    name = parse_art_name(filename)
    if name is None:
        raise ResourceNotFound("not a rendition name")
    return send_rendition(name, IMMUTABLE_CACHE_CONTROL, LastModified.VALIDATOR)


def _check_wait() -> None:
    """A `wait` the worker's event loop has already honoured (or not held): only its value is checked."""
    value = request.args.get(WAIT_PARAMETER)
    if value is not None:
        wait_seconds(value, services().settings.max_wait_seconds)


def _check_zone_id(zone_id: str) -> None:
    if ZONE_ID_RE.match(zone_id) is None:
        raise ResourceNotFound("unknown zone")


def known_zone(zone_id: str) -> ZoneState:
    """The zone with that id, or the group of the room with that id; 404 for an invalid or unknown id."""
    _check_zone_id(zone_id)
    zone = services().zones.get(zone_id)
    if zone is None:
        raise ResourceNotFound("unknown zone")
    return zone


def _profile_for(filename: str) -> Profile:
    parts = split_image_filename(filename)
    profile = services().settings.profile(parts[0]) if parts else None
    if parts is None or profile is None or profile.ext != parts[1]:
        raise ResourceNotFound(missing_profile_message(filename, services().settings.profiles))
    return profile
