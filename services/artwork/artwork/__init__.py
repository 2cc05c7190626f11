"""The artwork service: album art and now-playing state over HTTP, for small displays.

Importing the package stays cheap and imports no metrics library: gunicorn.conf.py must set up
prometheus-client's multiprocess directory before anything imports it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from flask import Flask

    from artwork.config import Settings

__all__ = ["create_app"]


def create_app(settings: Settings | None = None) -> Flask:
    """Build the WSGI app (see `artwork.app.create_app`)."""
    from artwork.app import create_app as build  # noqa: PLC0415 - deferred on purpose, see above

    return build(settings)
