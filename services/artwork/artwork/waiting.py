"""Wait-for-change and event streams: which requests the worker holds, and what they wait on.

A display that has the current image sends `If-None-Match` with `?wait=<seconds>`; the worker's
event loop holds such a request, without a thread, until the zone's ETag differs from the one the
client holds (then a thread answers 200 with the new body) or the wait is over (then 304). Holding
happens only in the event loop (artwork/worker.py); the routes validate `wait` and answer as they
always do, which is exactly right once the wait has ended. An event stream
(`/api/zones/<id>/events`) is held the same way, and sent the zone's JSON at each change.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import parse_qs, unquote, urlsplit

from artwork.headers import EVERY_RESPONSE_HEADERS, REVALIDATE_CACHE_CONTROL
from artwork.payloads import body_etag, json_body, split_image_filename, zone_payload, zone_rendition
from contract.zone import ZONE_ID_RE

if TYPE_CHECKING:  # Flask comes with it; the worker's master process imports this module
    from artwork.state import Services
    from artwork.zones import ZoneView
    from contract.layout import ArtName

WAIT_PARAMETER = "wait"


class BadWait(ValueError):
    """`wait` is not a number of seconds within 0..ARTWORK_MAX_WAIT_SECONDS; the message says so."""


_WAITABLE_METHODS = frozenset({b"GET", b"HEAD"})


def wait_seconds(value: str, max_wait_seconds: float) -> float:
    """The `wait` query value in seconds (integer or decimal); BadWait outside 0..max."""
    try:
        seconds = float(value)
    except ValueError:
        seconds = math.nan
    if not math.isfinite(seconds) or not 0 <= seconds <= max_wait_seconds or value.strip() != value:
        raise BadWait(f"wait must be a number of seconds from 0 to {max_wait_seconds:g}")
    return seconds


@dataclass(frozen=True)
class WaitRequest:
    """A request that asks to be held: its zone (or room), image file name ("" for the JSON), ETag."""

    zone_id: str
    filename: str
    if_none_match: str
    wait_seconds: float

    @property
    def is_image(self) -> bool:
        """An image of `/zones/<id>/<file>`, else the JSON of `/api/zones/<id>`."""
        return bool(self.filename)


def parse_wait_request(head: bytes, max_wait_seconds: float) -> WaitRequest | None:
    """The wait a complete request head asks for; None when it is not to be held (answered at once)."""
    request_line, _, rest = head.partition(b"\r\n") if b"\r\n" in head else head.partition(b"\n")
    parts = request_line.split(b" ")
    if len(parts) != 3 or parts[0] not in _WAITABLE_METHODS or b"wait=" not in parts[1]:
        return None
    try:
        target = urlsplit(parts[1].decode("ascii"))
    except (UnicodeDecodeError, ValueError):
        return None
    values = parse_qs(target.query).get(WAIT_PARAMETER)
    if not values:
        return None
    try:
        seconds = wait_seconds(values[-1], max_wait_seconds)
    except BadWait:
        return None  # a thread answers 400
    if seconds <= 0:
        return None
    if_none_match = _header(rest, b"if-none-match")
    if not if_none_match:
        return None
    path = unquote(target.path)
    if path.startswith("/api/zones/"):
        zone_id, filename = path[len("/api/zones/") :], ""
    elif path.startswith("/zones/"):
        zone_id, _, filename = path[len("/zones/") :].partition("/")
        if not filename:
            return None
    else:
        return None
    if ZONE_ID_RE.match(zone_id) is None:
        return None
    return WaitRequest(zone_id, filename, if_none_match, seconds)


# Headers that cannot change the answer to a plain image request. Anything else (Range, If-Match,
# Connection: close, a body, ...) goes to gunicorn and the app, which have the full logic.
_PLAIN_REQUEST_HEADERS = frozenset(
    {
        b"host", b"user-agent", b"accept", b"accept-encoding", b"accept-language", b"cache-control",
        b"pragma", b"origin", b"referer", b"if-none-match", b"sec-fetch-mode", b"sec-fetch-site",
        b"sec-fetch-dest", b"dnt",
    }
)  # fmt: skip
_HEAD_END = b"\r\n\r\n"
_STRONG_ETAG = re.compile(r'"[^",*]*"')


@dataclass(frozen=True)
class PlainImageRequest:
    """`GET|HEAD` of an image with nothing in it that needs gunicorn's or the app's full logic."""

    zone_id: str | None  # None: `/art/<filename>`, a rendition by its own name
    filename: str
    if_none_match: str  # one strong ETag, or "" when the client sent none
    head_only: bool


def parse_plain_image_request(head: bytes) -> PlainImageRequest | None:
    """An image request the worker may answer without gunicorn's request machinery; None otherwise.

    That is exactly one whole `GET|HEAD /zones/<id>/<file> HTTP/1.1` (or `/art/<file>`) head with no
    query, no escapes, nothing after it (no pipelined request), only harmless headers,
    `Connection: keep-alive` at most, and If-None-Match, if any, one strong ETag (a list, `*` or a
    weak one: werkzeug decides).
    """
    end = head.find(_HEAD_END)
    if end < 0 or end + len(_HEAD_END) != len(head):
        return None
    request_line, _, fields = head[:end].partition(b"\r\n")
    parts = request_line.split(b" ")
    if len(parts) != 3 or parts[0] not in _WAITABLE_METHODS or parts[2] != b"HTTP/1.1":
        return None
    image = _image_target(parts[1])
    if_none_match = _plain_if_none_match(fields)
    if image is None or if_none_match is None:
        return None
    zone_id, filename = image
    return PlainImageRequest(zone_id, filename, if_none_match, head_only=parts[0] == b"HEAD")


def _image_target(target: bytes) -> tuple[str | None, str] | None:
    """(zone id, file name) of `/zones/<id>/<file>`, (None, file name) of `/art/<file>`; else None."""
    if any(c in target for c in (b"?", b"%", b"#")):
        return None
    zone_id: str | None
    if target.startswith(b"/zones/"):
        zone_id, slash, filename = target[len(b"/zones/") :].decode("latin-1").partition("/")
        if not slash or ZONE_ID_RE.match(zone_id) is None:
            return None
    elif target.startswith(b"/art/"):
        zone_id, filename = None, target[len(b"/art/") :].decode("latin-1")
    else:
        return None
    return (zone_id, filename) if filename and "/" not in filename else None


def _plain_if_none_match(fields: bytes) -> str | None:
    """The one strong ETag in If-None-Match ("" for none) when every header is harmless; else None."""
    if_none_match = ""
    for line in fields.split(b"\r\n"):
        name, colon, value = line.partition(b":")
        name = name.lower()
        if not colon or name != name.strip():
            return None
        if name == b"connection" and value.strip().lower() == b"keep-alive":
            continue  # HTTP/1.1's default, which browsers still send
        if name not in _PLAIN_REQUEST_HEADERS:
            return None
        if name == b"if-none-match":
            if if_none_match:
                return None  # twice: leave it to werkzeug
            if_none_match = value.strip().decode("latin-1")
            if _STRONG_ETAG.fullmatch(if_none_match) is None:
                return None
    return if_none_match


def keepalive_response_head(status: str, headers: Iterable[tuple[str, str]], server: str, date: str) -> bytes:
    """The head gunicorn writes for a response on a kept-alive HTTP/1.1 connection, byte for byte."""
    lines = [
        f"HTTP/1.1 {status}",
        f"Server: {server}",
        f"Date: {date}",
        "Connection: keep-alive",
        *(f"{key}: {value}" for key, value in headers),
    ]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


@dataclass(frozen=True)
class StreamRequest:
    """`GET /api/zones/<id>/events`: a server-sent event stream of the zone's JSON."""

    zone_id: str
    last_event_id: str


def parse_stream_request(head: bytes) -> StreamRequest | None:
    """The event stream a complete request head asks for, or None."""
    request_line, _, rest = head.partition(b"\r\n") if b"\r\n" in head else head.partition(b"\n")
    parts = request_line.split(b" ")
    if len(parts) != 3 or parts[0] != b"GET" or not parts[1].endswith(b"/events"):
        return None
    try:
        path = unquote(urlsplit(parts[1].decode("ascii")).path)
    except (UnicodeDecodeError, ValueError):
        return None
    zone_id = path.removeprefix("/api/zones/").removesuffix("/events")
    if not path.startswith("/api/zones/") or ZONE_ID_RE.match(zone_id) is None:
        return None
    return StreamRequest(zone_id, _header(rest, b"last-event-id"))


def zone_event(app_services: Services, zone_id: str) -> tuple[str, bytes] | None:
    """The zone's JSON as a server-sent event, with its ETag as the event id; None for an unknown zone."""
    zone = app_services.zones.get(zone_id)
    if zone is None:
        return None
    body = json_body(zone_payload(zone, app_services.settings.profiles, room=zone_id))
    etag = f'"{body_etag(body)}"'
    return etag, b"event: zone\nid: " + etag.encode() + b"\ndata: " + body + b"\n\n"


def stream_head() -> bytes:
    """The response head of an event stream; its body ends when the connection does."""
    headers = {
        "Content-Type": "text/event-stream; charset=utf-8",
        "Cache-Control": "no-cache",
        "X-Accel-Buffering": "no",  # a proxy in front must not hold events back
        **EVERY_RESPONSE_HEADERS,
    }
    lines = "".join(f"{key}: {value}\r\n" for key, value in headers.items())
    return f"HTTP/1.1 200 OK\r\n{lines}Connection: close\r\n\r\n".encode("latin-1")


STREAM_COMMENT = b": still here\n\n"
"""Sent on an idle stream now and then, so that proxies and NAT keep the connection open."""


def _header(lines: bytes, name: bytes) -> str:
    """A header's value (the last one wins, as werkzeug's dict does), or ""."""
    value = b""
    for line in lines.splitlines():
        key, colon, rest = line.partition(b":")
        if colon and key.strip().lower() == name:
            value = rest.strip()
    return value.decode("latin-1")


def current_etag(app_services: Services, wait: WaitRequest) -> str | None:
    """The ETag the route would answer with now, quoted; None when it would not answer 200."""
    if wait.is_image:
        name = current_rendition(app_services, wait.zone_id, wait.filename)
        return f'"{name.hash}"' if name is not None else None
    zone = app_services.zones.get(wait.zone_id)
    if zone is None:
        return None
    return f'"{body_etag(json_body(zone_payload(zone, app_services.settings.profiles, room=wait.zone_id)))}"'


def current_rendition(
    app_services: Services, zone_id: str, filename: str, zones: ZoneView | None = None
) -> ArtName | None:
    """The rendition `/zones/<zone_id>/<filename>` would answer with now; None when it would not answer 200.

    The zone is read from `zones` when given (the worker's in-memory copy), else as the routes read it.
    """
    parts = split_image_filename(filename)
    profile = app_services.settings.profile(parts[0]) if parts else None
    if parts is None or profile is None or profile.ext != parts[1]:
        return None
    zone = (zones if zones is not None else app_services.zones).get(zone_id)
    return zone_rendition(zone, profile) if zone is not None else None


def not_modified_response(etag: str) -> bytes:
    """The 304 a held request gets when the worker stops (no thread is left to answer it)."""
    headers = {"ETag": etag, "Cache-Control": REVALIDATE_CACHE_CONTROL, **EVERY_RESPONSE_HEADERS}
    lines = "".join(f"{key}: {value}\r\n" for key, value in headers.items())
    return f"HTTP/1.1 304 Not Modified\r\n{lines}Connection: close\r\n\r\n".encode("latin-1")
