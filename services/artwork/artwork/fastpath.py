"""The image routes' common answers without Flask's per-request machinery.

Displays poll `/zones/<id>/<profile>.<ext>` every second and fetch `/art/<name>`; under load Flask's
request context, routing, `send_file` and response objects cost more CPU than gunicorn itself (see
bench/: the Flask view ran at under half the bare server's rate). This WSGI middleware answers the
plain cases of those two routes, a 200 (GET or HEAD) or a 304, with exactly the headers the Flask
views send, and hands everything else to Flask unchanged: other paths and methods, Range and
precondition headers, and every case that is not a servable file (404, 503 and 500 keep coming
from the views and their error handlers). A zone image whose ETag the client already holds is a 304
without opening the file: the zone's hash in Redis names that very content. (The plainest requests
do not even reach here: the worker answers them itself, see worker.py; this serves the rest.)
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs

from flask import Flask
from werkzeug.http import http_date, is_resource_modified
from werkzeug.wsgi import FileWrapper

from artwork.files import ArtNotFound
from artwork.headers import (
    IMMUTABLE_CACHE_CONTROL,
    REVALIDATE_CACHE_CONTROL,
    image_headers,
    rendition_headers,
)
from artwork.metrics import ROUTE_ENVIRON_KEY
from artwork.payloads import zone_rendition
from artwork.state import services
from artwork.urls import ART_ROUTE, ZONE_IMAGE_ROUTE
from artwork.waiting import WAIT_PARAMETER, BadWait, wait_seconds
from artwork.zones import NowPlayingUnavailable
from contract.layout import ArtName, parse_art_name
from contract.profiles import MIME_TYPES, Profile
from contract.zone import ZONE_ID_RE, ZoneState

log = logging.getLogger(__name__)

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]

_MAX_ZONE_ANSWERS = 512


@dataclass(frozen=True, slots=True)
class _ZoneAnswer:
    """A zone image path's rendition and 304 headers, valid while the zone read is `zone` itself."""

    zone_id: str
    profile: Profile
    zone: ZoneState
    name: ArtName
    etag: str
    not_modified_headers: tuple[tuple[str, str], ...]


@functools.lru_cache(maxsize=1024)
def _last_modified(mtime_seconds: int) -> str:
    """The HTTP date of a file time; renditions never change, so each is formatted once."""
    return http_date(mtime_seconds)


class FastImages:
    """WSGI middleware in front of the Flask app for the two image routes."""

    def __init__(self, app: Flask, wsgi_app: WsgiApp) -> None:
        app_services = services(app)
        self._next = wsgi_app
        self._files = app_services.art
        self._zones = app_services.zones
        self._profiles: dict[str, Profile] = {f"{p.name}.{p.ext}": p for p in app_services.settings.profiles}
        self._max_wait_seconds = app_services.settings.max_wait_seconds
        # Zones are immutable and replaced on change: while a path reads the same zone object, its
        # answer is the same, and the poll that most displays send every second skips rebuilding it.
        self._answers: dict[str, _ZoneAnswer] = {}

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        # Range and the other preconditions need werkzeug's full logic: Flask answers those.
        if (
            environ.get("REQUEST_METHOD") in {"GET", "HEAD"}
            and "HTTP_RANGE" not in environ
            and "HTTP_IF_MATCH" not in environ
            and "HTTP_IF_UNMODIFIED_SINCE" not in environ
        ):
            path: str = environ.get("PATH_INFO", "")
            try:
                if path.startswith("/zones/"):
                    answer = self._zone_image(environ, start_response, path[7:])
                elif path.startswith("/art/"):
                    answer = self._art(environ, start_response, path[5:])
                else:
                    answer = None
            except Exception:  # the Flask view answers (and logs) whatever went wrong
                log.debug("fast path declined %s", path, exc_info=True)
                answer = None
            if answer is not None:
                return answer
        return self._next(environ, start_response)

    def _zone_image(
        self, environ: dict[str, Any], start_response: Callable[..., Any], rest: str
    ) -> Iterable[bytes] | None:
        if "wait" in environ.get("QUERY_STRING", "") and not self._wait_valid(environ["QUERY_STRING"]):
            return None  # the view answers 400
        answer = self._zone_answer(rest)
        if answer is None:
            return None
        environ[ROUTE_ENVIRON_KEY] = ZONE_IMAGE_ROUTE
        if environ.get("HTTP_IF_NONE_MATCH") == answer.etag:
            # The display polling every second already has the zone's current image: the hash in
            # Redis says so, and the file need not even be opened.
            start_response("304 NOT MODIFIED", list(answer.not_modified_headers))
            return []
        return self._send(environ, start_response, answer.name, REVALIDATE_CACHE_CONTROL, validator=False)

    def _zone_answer(self, rest: str) -> _ZoneAnswer | None:
        """What `/zones/<rest>` shows now; kept while the zone read is the very same (immutable) object."""
        known = self._answers.get(rest)
        if known is not None:
            zone_id, profile = known.zone_id, known.profile
        else:
            zone_id, slash, filename = rest.partition("/")
            found = self._profiles.get(filename)
            if not slash or found is None or ZONE_ID_RE.match(zone_id) is None:
                return None
            profile = found
        try:
            zone = self._zones.get(zone_id)
        except NowPlayingUnavailable:
            return None
        if zone is None:
            return None
        if known is not None and zone is known.zone:
            return known  # a display polling every second: nothing changed since the last poll
        name = zone_rendition(zone, profile)
        if name is None:
            return None
        etag = f'"{name.hash}"'
        answer = _ZoneAnswer(
            zone_id, profile, zone, name, etag, tuple(rendition_headers(etag, REVALIDATE_CACHE_CONTROL))
        )
        if len(self._answers) >= _MAX_ZONE_ANSWERS:
            self._answers.clear()  # only paths of zones that exist get here; a household has a few
        self._answers[rest] = answer
        return answer

    def _wait_valid(self, query: str) -> bool:
        for value in parse_qs(query).get(WAIT_PARAMETER, []):
            try:
                wait_seconds(value, self._max_wait_seconds)
            except BadWait:
                return False
        return True

    def _art(
        self, environ: dict[str, Any], start_response: Callable[..., Any], filename: str
    ) -> Iterable[bytes] | None:
        name = parse_art_name(filename)
        if name is None:
            return None
        environ[ROUTE_ENVIRON_KEY] = ART_ROUTE
        return self._send(environ, start_response, name, IMMUTABLE_CACHE_CONTROL, validator=True)

    def _send(
        self,
        environ: dict[str, Any],
        start_response: Callable[..., Any],
        name: ArtName,
        cache_control: str,
        *,
        validator: bool,
    ) -> Iterable[bytes] | None:
        # As in responses.send_rendition: open first, describe the response from that descriptor.
        try:
            rendition = self._files.open(name)
        except ArtNotFound:
            environ.pop(ROUTE_ENVIRON_KEY, None)
            return None
        etag = f'"{name.hash}"'
        last_modified = _last_modified(int(rendition.mtime_seconds)) if validator else None
        if _not_modified(environ, etag, name.hash, last_modified):
            rendition.file.close()
            start_response("304 NOT MODIFIED", rendition_headers(etag, cache_control))
            return []
        headers = image_headers(
            etag, cache_control, MIME_TYPES[name.ext], rendition.size_bytes, last_modified
        )
        try:
            start_response("200 OK", headers)
        except BaseException:
            rendition.file.close()
            raise
        if environ["REQUEST_METHOD"] == "HEAD":
            rendition.file.close()
            return []
        # The server's own wrapper, which gunicorn sends with sendfile(2).
        wrapper: Callable[[Any], Iterable[bytes]] = environ.get("wsgi.file_wrapper", FileWrapper)
        return wrapper(rendition.file)


def _not_modified(environ: dict[str, Any], etag: str, raw_etag: str, last_modified: str | None) -> bool:
    """werkzeug's answer to the request's If-None-Match / If-Modified-Since, exact-match shortcut first."""
    if_none_match = environ.get("HTTP_IF_NONE_MATCH")
    if if_none_match == etag:
        return True
    if if_none_match is None and (last_modified is None or "HTTP_IF_MODIFIED_SINCE" not in environ):
        return False
    return not is_resource_modified(environ, etag=raw_etag, last_modified=last_modified)
