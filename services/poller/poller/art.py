"""Album-art download with bounds on size, total time and redirects."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from urllib.parse import urljoin, urlsplit

import requests
import urllib3

from poller.errors import ArtRejected

_CHUNK_BYTES = 64 * 1024
_MAX_REDIRECTS = 3


def absolute_art_url(art_url: str, speaker_base_url: str) -> str:
    """Make a speaker-relative `/getaa?...` URL absolute; leave absolute URLs alone."""
    return urljoin(speaker_base_url + "/", art_url)


def art_session() -> requests.Session:
    """A session for art downloads (keeps connections to speakers and art hosts open)."""
    session = requests.Session()
    session.headers["User-Agent"] = "sonos-artwork-poller"
    return session


class ArtFetcher:
    """Downloads album art over http(s), never more than `max_bytes` or longer than `timeout_seconds`.

    Each thread gets its own session (requests does not promise that one is safe to share).
    """

    def __init__(
        self,
        max_bytes: int,
        timeout_seconds: float,
        stop: threading.Event | None = None,
        new_session: Callable[[], requests.Session] = art_session,
    ) -> None:
        self._new_session = new_session
        self._sessions = threading.local()
        self._max_bytes = max_bytes
        self._timeout_seconds = timeout_seconds
        self._stop = stop or threading.Event()

    def fetch(self, url: str) -> bytes:
        """The bytes at url, or ArtRejected saying why not."""
        deadline = time.monotonic() + self._timeout_seconds
        for _ in range(_MAX_REDIRECTS + 1):
            if urlsplit(url).scheme not in ("http", "https"):
                raise ArtRejected(f"art URL scheme not allowed: {url[:200]}")
            try:
                with self._session().get(
                    url, stream=True, allow_redirects=False, timeout=self._read_timeout(deadline)
                ) as response:
                    if response.is_redirect:
                        url = urljoin(url, response.headers.get("location", ""))
                        continue
                    if response.status_code != 200:
                        raise ArtRejected(f"art download answered HTTP {response.status_code}: {url[:200]}")
                    return self._read_body(response, deadline, url)
            except (requests.RequestException, urllib3.exceptions.HTTPError, OSError) as err:
                raise ArtRejected(f"art download failed: {err}") from err
        raise ArtRejected(f"more than {_MAX_REDIRECTS} redirects: {url[:200]}")

    def _session(self) -> requests.Session:
        session: requests.Session | None = getattr(self._sessions, "session", None)
        if session is None:
            session = self._sessions.session = self._new_session()
        return session

    def _read_body(self, response: requests.Response, deadline: float, url: str) -> bytes:
        declared = response.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > self._max_bytes:
            raise ArtRejected(f"art of {declared} bytes exceeds ART_MAX_BYTES={self._max_bytes}: {url[:200]}")
        body = bytearray()
        # read1 returns what one recv gives, so a server dripping bytes cannot stretch a read past
        # the deadline (iter_content would wait to fill each chunk).
        while chunk := response.raw.read1(_CHUNK_BYTES):
            body += chunk
            if len(body) > self._max_bytes:
                raise ArtRejected(f"art exceeds ART_MAX_BYTES={self._max_bytes}: {url[:200]}")
            # The socket timeout bounds each read; this bounds the whole download (slow drip).
            if time.monotonic() > deadline:
                raise ArtRejected(f"art download exceeded ART_TIMEOUT_SECONDS: {url[:200]}")
            if self._stop.is_set():
                raise ArtRejected("shutting down")
        return bytes(body)

    @staticmethod
    def _read_timeout(deadline: float) -> float:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise ArtRejected("art download exceeded ART_TIMEOUT_SECONDS")
        # Short socket timeouts, so a stalled server is noticed within a second of the deadline.
        return min(remaining, 1.0)
