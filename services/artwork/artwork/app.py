"""The Flask app factory and what every response gets."""

from __future__ import annotations

import os

from flask import Flask, Response, request

from artwork import metrics
from artwork.config import Settings, server_settings
from artwork.errors import register_error_handlers
from artwork.fastpath import FastImages
from artwork.files import ArtFiles
from artwork.legacy import bp as legacy_bp
from artwork.metrics import ROUTE_ENVIRON_KEY, UNMATCHED_ROUTE
from artwork.page_documents import load_pages
from artwork.pages import bp as pages_bp
from artwork.responses import EVERY_RESPONSE_HEADERS
from artwork.routes import bp
from artwork.state import Services, install
from artwork.zone_cache import CachedZones
from contract.logs import configure_logging

_PREFLIGHT_HEADERS = {
    "Access-Control-Allow-Methods": "GET, HEAD, OPTIONS",
    "Access-Control-Allow-Headers": "If-None-Match, If-Modified-Since, If-Range, Range",
    "Access-Control-Max-Age": "86400",
}


def create_app(settings: Settings | None = None) -> Flask:
    """Build the WSGI app; settings come from the environment unless given."""
    settings = settings if settings is not None else server_settings(os.environ).app
    configure_logging(settings.log_level, settings.log_format, "artwork")
    # No static folder: only the routes below may map a URL to a file.
    app = Flask(__name__, static_folder=None)
    # `//x` and `/art//x` must be plain 404s, not redirects to some other path.
    app.url_map.merge_slashes = False
    # Each worker keeps the zones in memory, kept current by the poller's change channel.
    zones = CachedZones.from_settings(settings, on_following=metrics.zone_cache_following)
    art = ArtFiles(settings.artwork_dir)
    install(app, Services(settings=settings, zones=zones, art=art, pages=load_pages(settings)))
    register_error_handlers(app)
    app.register_blueprint(bp)
    app.register_blueprint(legacy_bp)
    app.register_blueprint(pages_bp)
    app.after_request(_finish_response)
    # The image routes' plain 200s and 304s skip Flask's request machinery (see fastpath.py).
    app.wsgi_app = FastImages(app, app.wsgi_app)  # type: ignore[method-assign]
    zones.start()
    return app


def _finish_response(response: Response) -> Response:
    # The route, not the path, labels the metrics: paths are unbounded, routes are a short list.
    rule = request.url_rule
    request.environ[ROUTE_ENVIRON_KEY] = rule.rule if rule is not None else UNMATCHED_ROUTE
    headers = response.headers
    headers.update(EVERY_RESPONSE_HEADERS)
    if request.method == "OPTIONS":
        headers.update(_PREFLIGHT_HEADERS)
    return response
