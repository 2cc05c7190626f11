"""The reference app of the HTTP benchmark: a few lines serving one file, the server's own ceiling.

Run under the artwork service's gunicorn configuration (`gunicorn -c .../gunicorn.conf.py
bench.bare_wsgi:app`), with `BENCH_FILE` naming the file. It answers every path with that file
through `wsgi.file_wrapper` (so gunicorn uses sendfile), with a strong ETag and 304 on a match.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from typing import Any

_PATH = os.environ.get("BENCH_FILE", "")
_ETAG = '"bench-file"'


def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    """GET/HEAD the one file; 304 when If-None-Match matches."""
    if environ.get("HTTP_IF_NONE_MATCH") == _ETAG:
        start_response("304 Not Modified", [("ETag", _ETAG), ("Cache-Control", "no-cache")])
        return []
    file = open(_PATH, "rb")  # noqa: SIM115 - the server closes the wrapper
    size = os.fstat(file.fileno()).st_size
    start_response(
        "200 OK",
        [
            ("Content-Type", "image/jpeg"),
            ("Content-Length", str(size)),
            ("ETag", _ETAG),
            ("Cache-Control", "no-cache"),
        ],
    )
    wrapper: Iterable[bytes] = environ["wsgi.file_wrapper"](file)
    return wrapper
