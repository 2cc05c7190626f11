"""The emulator's own "CDN": serves streaming tracks' absolute album-art URLs, faults included."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, cast
from urllib.parse import urlsplit

from fakesonos.art_responses import TEXT_CONTENT_TYPE, send_art
from fakesonos.httpbase import BackgroundServer, Handler

if TYPE_CHECKING:
    from fakesonos.household import Household

_IMAGE_PATH_RE = re.compile(r"^/image/(?P<token>[0-9a-f]+)\.jpg$")


class _ArtHandler(Handler):
    server_version = "fakesonos-art"

    def do_GET(self) -> None:
        """Serve `/image/<token>.jpg?...` for a track played recently."""
        household = cast("Household", self.context)
        match = _IMAGE_PATH_RE.match(urlsplit(self.path).path)
        if match is None:
            self.send_body(404, b"not found\n", TEXT_CONTENT_TYPE)
            return
        send_art(self, household.art_for_token(match["token"]), self.stopping)

    do_HEAD = do_GET


class ArtServer(BackgroundServer):
    """Album art of streaming tracks on its own address (port 0 picks a free one)."""

    def __init__(self, household: Household, address: tuple[str, int]) -> None:
        super().__init__(address, _ArtHandler, household, name=f"fakesonos-art-{address[0]}")
