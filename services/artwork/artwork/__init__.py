"""The artwork service: album art and now-playing state over HTTP, for small displays."""

from __future__ import annotations

import os

from flask import Flask

from artwork.config import Settings
from artwork.errors import register_error_handlers
from artwork.routes import bp
from artwork.state import Services, install
from artwork.zones import ZoneRepository, make_redis_client
from contract.logs import configure_logging
from contract.redis_keys import RedisKeys

__all__ = ["Settings", "create_app"]


def create_app(settings: Settings | None = None) -> Flask:
    """Build the WSGI app; settings come from the environment unless given."""
    settings = settings if settings is not None else Settings.from_env(os.environ)
    configure_logging(settings.log_level, settings.log_format, "artwork")
    # No static folder: only the routes below may map a URL to a file.
    app = Flask(__name__, static_folder=None)
    # `//x` and `/art//x` must be plain 404s, not redirects to some other path.
    app.url_map.merge_slashes = False
    zones = ZoneRepository(make_redis_client(settings), RedisKeys(settings.redis_prefix))
    install(app, Services(settings=settings, zones=zones))
    register_error_handlers(app)
    app.register_blueprint(bp)
    return app
