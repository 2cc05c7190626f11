"""The reference app of the HTTP benchmark: a few lines serving one file, the server's own ceiling.

Run under the artwork service's gunicorn configuration (`gunicorn -c .../gunicorn.conf.py
bench.bare_wsgi:app`), with `BENCH_FILE` naming the file and `BENCH_HEADERS` (JSON pairs) the
headers the artwork service sent for it, so that both put the same bytes on the wire and the
difference is the app's own work. It answers every path with that file through
`wsgi.file_wrapper` (so gunicorn uses sendfile), and with a 304 when If-None-Match matches.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable
from typing import Any

_PATH = os.environ.get("BENCH_FILE", "")
_HEADERS = [(str(k), str(v)) for k, v in json.loads(os.environ.get("BENCH_HEADERS", "[]"))]
_BODY_HEADERS = {"content-type", "content-length"}
_NOT_MODIFIED_HEADERS = [(k, v) for k, v in _HEADERS if k.lower() not in _BODY_HEADERS]
_ETAG = next((v for k, v in _HEADERS if k.lower() == "etag"), '"bench-file"')


def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    """GET/HEAD the one file; 304 when If-None-Match matches."""
    if environ.get("HTTP_IF_NONE_MATCH") == _ETAG:
        start_response("304 Not Modified", _NOT_MODIFIED_HEADERS)
        return []
    file = open(_PATH, "rb")  # noqa: SIM115 - the server closes the wrapper
    size = os.fstat(file.fileno()).st_size
    start_response(
        "200 OK", [*_NOT_MODIFIED_HEADERS, ("Content-Type", "image/jpeg"), ("Content-Length", str(size))]
    )
    wrapper: Iterable[bytes] = environ["wsgi.file_wrapper"](file)
    return wrapper
