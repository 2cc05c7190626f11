"""HTTP routes: health, now-playing JSON and the images themselves."""

from __future__ import annotations

import logging
from typing import Any

from flask import Blueprint, Response, request, send_file

from artwork.errors import ResourceNotFound, json_response
from artwork.files import ArtNotFound, art_root_readable, open_rendition
from artwork.payloads import (
    body_etag,
    json_body,
    split_image_filename,
    zone_payload,
    zone_rendition,
    zones_payload,
)
from artwork.state import services
from contract.layout import ArtName, parse_art_name
from contract.profiles import MIME_TYPES, Profile
from contract.zone import ZONE_ID_RE, ZoneState

log = logging.getLogger(__name__)

bp = Blueprint("artwork", __name__)

IMMUTABLE_CACHE_CONTROL = "public, max-age=31536000, immutable"
REVALIDATE_CACHE_CONTROL = "no-cache"


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
    settings = services().settings
    zones = services().zones.list()
    return _conditional_json(zones_payload(zones, settings.profiles, settings.default_zone))


@bp.get("/api/zones/<zone_id>")
def get_zone(zone_id: str) -> Response:
    """One zone's now-playing state with image URLs."""
    zone = _known_zone(zone_id)
    return _conditional_json(zone_payload(zone, services().settings.profiles))


@bp.route("/zones/<zone_id>/<filename>", methods=["GET", "HEAD"])
def zone_image(zone_id: str, filename: str) -> Response:
    """The zone's current image for a profile; revalidated by ETag on every poll."""
    _check_zone_id(zone_id)
    profile = _profile_for(filename)
    zone = _known_zone(zone_id)
    name = zone_rendition(zone, profile)
    if name is None:  # none stored, or a stored path this service will not trust
        raise ResourceNotFound("no image for this zone and profile")
    # No Last-Modified: a zone can switch back to an older rendition, which If-Modified-Since
    # would wrongly call unmodified. The ETag (the content hash) is exact.
    return _send_rendition(name, REVALIDATE_CACHE_CONTROL, with_last_modified=False)


@bp.route("/art/<filename>", methods=["GET", "HEAD"])
def art(filename: str) -> Response:
    """One immutable, content-addressed rendition."""
    name = parse_art_name(filename)
    if name is None:
        raise ResourceNotFound("not a rendition name")
    return _send_rendition(name, IMMUTABLE_CACHE_CONTROL, with_last_modified=True)


@bp.after_app_request
def _no_sniff(response: Response) -> Response:
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


def _check_zone_id(zone_id: str) -> None:
    if ZONE_ID_RE.match(zone_id) is None:
        raise ResourceNotFound("unknown zone")


def _known_zone(zone_id: str) -> ZoneState:
    _check_zone_id(zone_id)
    zone = services().zones.get(zone_id)
    if zone is None:
        raise ResourceNotFound("unknown zone")
    return zone


def _profile_for(filename: str) -> Profile:
    parts = split_image_filename(filename)
    profile = services().settings.profile(parts[0]) if parts else None
    if parts is None or profile is None or profile.ext != parts[1]:
        raise ResourceNotFound("unknown profile")
    return profile


def _conditional_json(payload: Any) -> Response:
    body = json_body(payload)
    response = Response(body, mimetype="application/json")
    response.set_etag(body_etag(body))
    response.headers["Cache-Control"] = REVALIDATE_CACHE_CONTROL
    response.make_conditional(request)  # turns the response into a 304 in place
    return response


def _send_rendition(name: ArtName, cache_control: str, *, with_last_modified: bool) -> Response:
    # Open first and describe the response from fstat of that same file descriptor, so the
    # headers can never belong to a different file than the body.
    try:
        rendition = open_rendition(services().settings.artwork_dir, name)
    except ArtNotFound:
        raise ResourceNotFound("no such image") from None
    try:
        # A real file object goes through the server's wsgi.file_wrapper, which gunicorn
        # sends with sendfile(2); nothing may wrap the body afterwards.
        response = send_file(
            rendition.file,
            mimetype=MIME_TYPES[name.ext],
            etag=name.hash,
            last_modified=rendition.mtime_seconds if with_last_modified else None,
            conditional=False,
        )
    except BaseException:
        rendition.file.close()
        raise
    response.content_length = rendition.size_bytes
    response.headers["Cache-Control"] = cache_control
    # Ranges are not offered yet (a 206 body would also bypass sendfile).
    response.make_conditional(request, accept_ranges=False, complete_length=rendition.size_bytes)
    return response
