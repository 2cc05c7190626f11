"""Building responses: conditional JSON and renditions sent straight from their file."""

from __future__ import annotations

from enum import Enum
from typing import Any

from flask import Response, request, send_file

from artwork.errors import ResourceNotFound
from artwork.files import ArtNotFound
from artwork.headers import EVERY_RESPONSE_HEADERS, IMMUTABLE_CACHE_CONTROL, REVALIDATE_CACHE_CONTROL
from artwork.payloads import body_etag, json_body
from artwork.state import services
from contract.layout import ArtName
from contract.profiles import MIME_TYPES

__all__ = ["EVERY_RESPONSE_HEADERS", "IMMUTABLE_CACHE_CONTROL", "REVALIDATE_CACHE_CONTROL"]


class LastModified(Enum):
    """How a rendition's file time is used."""

    NONE = "none"
    # Immutable URLs: the file behind the URL never changes, so If-Modified-Since is exact.
    VALIDATOR = "validator"
    # Mutable legacy URLs: sent for clients that compare it, but If-Modified-Since is ignored,
    # because a zone can switch back to an older file; only the ETag decides a 304.
    INFORMATIVE = "informative"


def conditional_json(payload: Any) -> Response:
    """JSON with an ETag of its bytes, answered with 304 when the client has them."""
    body = json_body(payload)
    response = Response(body, mimetype="application/json")
    response.set_etag(body_etag(body))
    response.headers["Cache-Control"] = REVALIDATE_CACHE_CONTROL
    response.make_conditional(request)  # turns the response into a 304 in place
    return response


def conditional_bytes(body: bytes, mimetype: str, etag: str, extra_headers: dict[str, str]) -> Response:
    """A fixed document (a page, a schema) with a precomputed ETag."""
    response = Response(body, mimetype=mimetype)
    response.set_etag(etag)
    response.headers["Cache-Control"] = REVALIDATE_CACHE_CONTROL
    response.headers.update(extra_headers)
    response.make_conditional(request)
    return response


def send_rendition(name: ArtName, cache_control: str, last_modified: LastModified) -> Response:
    """The rendition's file; ETag = content hash; 304, HEAD and Range as the request asks."""
    # Open first and describe the response from fstat of that same file descriptor, so the
    # headers can never belong to a different file than the body.
    try:
        rendition = services().art.open(name)
    except ArtNotFound:
        raise ResourceNotFound("no such image") from None
    try:
        # A real file object goes through the server's wsgi.file_wrapper, which gunicorn
        # sends with sendfile(2); nothing may wrap the body afterwards.
        response = send_file(
            rendition.file,
            mimetype=MIME_TYPES[name.ext],
            etag=name.hash,
            last_modified=rendition.mtime_seconds if last_modified is LastModified.VALIDATOR else None,
            conditional=False,
        )
        response.content_length = rendition.size_bytes
        response.headers["Cache-Control"] = cache_control
        # A 206 wraps the body (no sendfile), which only partial requests pay for.
        response.make_conditional(request, accept_ranges=True, complete_length=rendition.size_bytes)
    except BaseException:
        rendition.file.close()
        raise
    if last_modified is LastModified.INFORMATIVE:
        response.last_modified = rendition.mtime_seconds  # type: ignore[assignment]
    return response
