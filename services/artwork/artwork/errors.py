"""Every error leaves as a small JSON body without internals, with one log line."""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask, Response, request
from werkzeug.exceptions import HTTPException, InternalServerError

from artwork.payloads import json_body
from artwork.waiting import BadWait
from artwork.zones import NowPlayingUnavailable

log = logging.getLogger(__name__)


class ResourceNotFound(Exception):
    """The client asked for something that is not there; the message is safe to send."""


def json_response(payload: Any, status: int = 200) -> Response:
    """A JSON response with canonical bytes."""
    return Response(json_body(payload), status=status, mimetype="application/json")


def register_error_handlers(app: Flask) -> None:
    """Turn every failure into a JSON response."""
    app.register_error_handler(ResourceNotFound, _not_found)
    app.register_error_handler(BadWait, _bad_wait)
    app.register_error_handler(NowPlayingUnavailable, _unavailable)
    app.register_error_handler(InternalServerError, _internal_error)
    app.register_error_handler(HTTPException, _http_error)


def _not_found(exc: ResourceNotFound) -> Response:
    message = str(exc)
    _log_client_error(404, message)
    return json_response({"error": message}, 404)


def _bad_wait(exc: BadWait) -> Response:
    message = str(exc)
    _log_client_error(400, message)
    return json_response({"error": message}, 400)


def _unavailable(exc: NowPlayingUnavailable) -> Response:
    # Already logged where Redis failed; the client learns only that it may retry.
    response = json_response({"error": "now-playing state unavailable", "detail": exc.detail}, 503)
    response.headers["Retry-After"] = "1"
    return response


def _internal_error(exc: InternalServerError) -> Response:
    # Flask has already logged the original exception with its traceback.
    return json_response({"error": "internal error"}, 500)


def _http_error(exc: HTTPException) -> Response:
    status = exc.code or 500
    message = (exc.name or "error").lower()
    _log_client_error(status, message)
    response = json_response({"error": message}, status)
    for key, value in exc.get_headers():
        if key.lower() != "content-type":  # keeps Allow on 405
            response.headers[key] = value
    return response


def _log_client_error(status: int, message: str) -> None:
    # %r keeps control characters a client put into the path out of the log's line structure.
    log.info("%s %r -> %d %s", request.method, request.path, status, message)
