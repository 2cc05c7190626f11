"""HTTP for the client: conditional, held requests for the zone, bodies streamed into one buffer."""

from sonos_display.decisions import BadImage, check_headers, check_image

CHUNK_BYTES = 4096
TIMEOUT_MARGIN_SECONDS = 10  # beyond a held request's wait, before the client gives up on it


class Reply:
    """A JSON answer: its status, ETag and decoded body (None for 304 and errors)."""

    def __init__(self, status, etag, data):
        self.status = status
        self.etag = etag
        self.data = data


class Fetcher:
    """One requests session at a time, and one download buffer for the panel's images, for good."""

    def __init__(self, make_session, buffer_bytes):
        self._make_session = make_session  # -> (session, close): close drops its sockets
        self._session = None
        self._close = None
        self.buffer = bytearray(buffer_bytes)
        self.downloads = 0  # image bodies read, for tests and logs

    def _get(self, url, headers, timeout):
        if self._session is None:
            self._session, self._close = self._make_session()
        return self._session.get(url, headers=headers, timeout=timeout)

    def reset(self):
        """Throw the session and its sockets away (after repeated socket errors)."""
        close, self._session, self._close = self._close, None, None
        if close is not None:
            close()

    def json(self, url, etag, wait_seconds):
        """GET with If-None-Match; 200 gives the decoded JSON, anything else only the status."""
        headers = {"If-None-Match": etag} if etag else {}
        response = self._get(url, headers, wait_seconds + TIMEOUT_MARGIN_SECONDS)
        try:
            status = response.status_code
            if status == 200:
                return Reply(200, response.headers.get("etag", ""), response.json())
            return Reply(status, etag, None)
        finally:
            response.close()

    def image(self, url, panel):
        """Download an image into the buffer and check it; returns its length in bytes."""
        response = self._get(url, {}, TIMEOUT_MARGIN_SECONDS)
        try:
            if response.status_code != 200:
                raise BadImage("HTTP %d for %s" % (response.status_code, url))
            length = response.headers.get("content-length")
            length = int(length) if length is not None and length.isdigit() else None
            check_headers(response.headers.get("content-type"), length, panel.format, len(self.buffer))
            received = 0
            view = memoryview(self.buffer)
            for chunk in response.iter_content(chunk_size=CHUNK_BYTES):
                end = received + len(chunk)
                if end > length:
                    raise BadImage("more bytes than Content-Length %d" % length)
                view[received:end] = chunk
                received = end
            if received != length:
                raise BadImage("truncated: %d of %d bytes" % (received, length))
            self.downloads += 1
            check_image(view[:received], panel.format, panel.width, panel.height)
            return received
        finally:
            response.close()
