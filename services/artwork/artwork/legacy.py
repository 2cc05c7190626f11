"""The URLs the original Qualia display clients call, answered for `DEFAULT_ZONE`."""

from __future__ import annotations

from flask import Blueprint, Response

from artwork.errors import ResourceNotFound
from artwork.payloads import legacy_metadata, zone_rendition
from artwork.responses import REVALIDATE_CACHE_CONTROL, LastModified, conditional_json, send_rendition
from artwork.state import services
from contract.profiles import QUALIA_BAR_PROFILE, QUALIA_SQUARE_PROFILE, missing_profile_message
from contract.zone import ZoneState, default_zone_id

bp = Blueprint("legacy", __name__)


@bp.get("/metadata.json")
def metadata() -> Response:
    """`{title, artist, album, last_updated}` of the default zone; empty while there is none."""
    return conditional_json(legacy_metadata(default_zone()))


@bp.route("/Adafruit/artwork.bmp", methods=["GET", "HEAD"])
def square_artwork() -> Response:
    """The default zone's 720x720 BMP (the square client)."""
    return _legacy_image(QUALIA_SQUARE_PROFILE)


@bp.route("/Adafruit/artwork_bar.bmp", methods=["GET", "HEAD"])
def bar_artwork() -> Response:
    """The default zone's 320x960 BMP (the bar client)."""
    return _legacy_image(QUALIA_BAR_PROFILE)


def default_zone() -> ZoneState | None:
    """`DEFAULT_ZONE`, else the first zone by id; None while Redis knows no such zone."""
    app_services = services()
    zone_id = default_zone_id(app_services.settings.default_zone, app_services.zones.ids())
    return app_services.zones.get(zone_id) if zone_id else None


def _legacy_image(profile_name: str) -> Response:
    profile = services().settings.profile(profile_name)
    if profile is None:
        raise ResourceNotFound(missing_profile_message(profile_name, services().settings.profiles))
    zone = default_zone()
    if zone is None:
        raise ResourceNotFound("no zone to show yet")
    name = zone_rendition(zone, profile)
    if name is None:
        raise ResourceNotFound("no image for this zone and profile")
    return send_rendition(name, REVALIDATE_CACHE_CONTROL, LastModified.INFORMATIVE)
