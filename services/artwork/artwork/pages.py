"""Pages for people and tools: the kiosk, the status page, the OpenAPI document and metrics."""

from __future__ import annotations

import time

from flask import Blueprint, Response, request

from artwork import metrics
from artwork.errors import ResourceNotFound
from artwork.files import art_root_readable
from artwork.gallery_html import Tile, gallery_html
from artwork.legacy import default_zone
from artwork.payloads import zone_rendition
from artwork.responses import REVALIDATE_CACHE_CONTROL, conditional_bytes
from artwork.routes import known_zone
from artwork.state import services
from artwork.status_html import ZoneLine, status_html
from artwork.zones import NowPlayingUnavailable

bp = Blueprint("pages", __name__)
# The gallery's images are this server's /art/ URLs; its only style is inline.
_GALLERY_CSP = "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'"


@bp.get("/")
def kiosk() -> Response:
    """Full-screen now-playing page; static HTML that polls `/api/zones/<id>`."""
    pages = services().pages
    return conditional_bytes(
        pages.kiosk.body,
        "text/html",
        pages.kiosk.etag,
        {"Content-Security-Policy": pages.kiosk_csp, "Referrer-Policy": "no-referrer"},
    )


@bp.get("/openapi.json")
def openapi() -> Response:
    """The OpenAPI 3.1 description of this service."""
    document = services().pages.openapi
    return conditional_bytes(document.body, "application/json", document.etag, {})


@bp.get("/status")
def status() -> Response:
    """A small human-readable status page, like the original server's; 503 while Redis is down."""
    app_services = services()
    settings = app_services.settings
    try:
        zones = app_services.zones.list()
        # While Redis is away the zones are those last known (zone_cache.py): say so all the same.
        redis_error = "" if app_services.zones.ping() else "redis unreachable; the zones as last known"
    except NowPlayingUnavailable as exc:
        zones, redis_error = [], exc.detail
    html = status_html(
        now_seconds=time.time(),
        default_zone=settings.default_zone or (zones[0].zone_id if zones else ""),
        zones=[ZoneLine.of(zone) for zone in zones],
        profiles=[profile.name for profile in settings.profiles],
        redis_error=redis_error,
        volume_readable=art_root_readable(settings.artwork_dir),
    )
    response = Response(html, status=503 if redis_error else 200, mimetype="text/html")
    response.headers["Cache-Control"] = REVALIDATE_CACHE_CONTROL
    response.headers["Content-Security-Policy"] = "default-src 'none'"
    return response


@bp.get("/gallery")
def gallery() -> Response:
    """The zone (`?zone=`, else the default one) in every configured profile, side by side."""
    app_services = services()
    zone_id = request.args.get("zone", "")
    zone = known_zone(zone_id) if zone_id else default_zone()
    if zone is None:
        raise ResourceNotFound("no zone to show yet")
    tiles = []
    for profile in app_services.settings.profiles:
        name = zone_rendition(zone, profile)
        size_bytes = app_services.art.size_bytes(name) if name is not None else None
        tiles.append(
            Tile(
                profile.name,
                profile.width,
                profile.height,
                profile.ext.upper(),
                f"/art/{name.filename}" if name is not None and size_bytes is not None else "",
                size_bytes or 0,
            )
        )
    response = Response(gallery_html(zone.name, tiles), mimetype="text/html")
    response.headers["Cache-Control"] = REVALIDATE_CACHE_CONTROL
    response.headers["Content-Security-Policy"] = _GALLERY_CSP
    return response


@bp.get(metrics.METRICS_ROUTE)
def prometheus_metrics() -> Response:
    """Prometheus text of the whole service (all workers)."""
    response = Response(metrics.render(), content_type=metrics.METRICS_CONTENT_TYPE)
    response.headers["Cache-Control"] = "no-store"
    return response
