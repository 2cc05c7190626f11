"""What one app instance holds: its settings and its collaborators."""

from __future__ import annotations

from dataclasses import dataclass
from typing import cast

from flask import Flask, current_app

from artwork.config import Settings
from artwork.files import ArtFiles
from artwork.page_documents import Pages
from artwork.zones import ZoneSource

_EXTENSION_KEY = "artwork"


@dataclass(frozen=True)
class Services:
    """Per-app collaborators, built once by the factory."""

    settings: Settings
    zones: ZoneSource
    art: ArtFiles
    pages: Pages


def install(app: Flask, services: Services) -> None:
    """Attach the collaborators to an app."""
    app.extensions[_EXTENSION_KEY] = services


def installed_services(app: object) -> Services | None:
    """The collaborators of a WSGI app, or None when it is not an artwork app (a bench's bare app)."""
    if isinstance(app, Flask):
        found = app.extensions.get(_EXTENSION_KEY)
        return found if isinstance(found, Services) else None
    return None


def services(app: Flask | None = None) -> Services:
    """The collaborators of the given app, or of the app handling the current request."""
    target = app if app is not None else current_app
    return cast(Services, target.extensions[_EXTENSION_KEY])
