"""A threaded HTTP/1.1 server that runs in the background and really drops its connections on stop."""

from __future__ import annotations

import contextlib
import logging
import socket
import socketserver
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, cast

logger = logging.getLogger(__name__)

POLL_INTERVAL_SECONDS = 0.1  # how long shutdown() may wait for the accept loop
IDLE_CONNECTION_TIMEOUT_SECONDS = 30.0
MAX_BODY_BYTES = 64 * 1024


class BodyTooLargeError(ValueError):
    """The request body is over the limit."""


class Handler(BaseHTTPRequestHandler):
    """Keep-alive handler with exact Content-Length replies and quiet logging."""

    protocol_version = "HTTP/1.1"
    timeout = IDLE_CONNECTION_TIMEOUT_SECONDS  # idle keep-alive connections do not pin threads forever
    sys_version = ""

    @property
    def context(self) -> object:
        """What the owner of the server gave it for its handlers."""
        return cast(_Server, self.server).context

    @property
    def stopping(self) -> threading.Event:
        """Set when the server stops; long waits in handlers end on it."""
        return cast(_Server, self.server).stopping

    def send_body(
        self, status: int, body: bytes, content_type: str, headers: dict[str, str] | None = None
    ) -> None:
        """Send a complete response (no body for HEAD)."""
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def read_body(self, max_bytes: int = MAX_BODY_BYTES) -> bytes:
        """Read the request body, so the connection stays usable for the next request."""
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            length = -1
        if length < 0 or length > max_bytes:
            self.close_connection = True  # the unread body would be taken for the next request
            raise BodyTooLargeError(f"body must be at most {max_bytes} bytes")
        return self.rfile.read(length) if length else b""

    def log_message(self, format: str, *args: Any) -> None:
        logger.debug("%s %s", self.address_string(), format % args)


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], handler: type[Handler], context: object) -> None:
        self.context = context
        self.stopping = threading.Event()
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        super().__init__(address, handler)

    def server_bind(self) -> None:
        # HTTPServer.server_bind does a reverse DNS lookup of the host, which can stall for seconds.
        socketserver.TCPServer.server_bind(self)
        host, port = self.server_address[:2]
        self.server_name = str(host)
        self.server_port = int(port)

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._connections_lock:
            self._connections.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._connections_lock:
            self._connections.discard(request)
        super().shutdown_request(request)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # Clients hanging up mid-request are routine; keep them out of stderr.
        logger.debug("connection from %s failed: %r", client_address, sys.exc_info()[1])

    def drop_connections(self) -> None:
        with self._connections_lock:
            connections = list(self._connections)
        for connection in connections:
            with contextlib.suppress(OSError):  # already closed by its handler
                connection.shutdown(socket.SHUT_RDWR)


class BackgroundServer:
    """An HTTP server serving in a background thread between `start()` and `stop()`."""

    def __init__(self, address: tuple[str, int], handler: type[Handler], context: object, name: str) -> None:
        self._address = address
        self._handler = handler
        self._context = context
        self._name = name
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def running(self) -> bool:
        """True between `start()` and `stop()`."""
        return self._server is not None

    @property
    def address(self) -> tuple[str, int]:
        """The bound (host, port); the real port when 0 was asked for."""
        if self._server is None:
            return self._address
        host, port = self._server.server_address[:2]
        return str(host), int(port)

    def start(self) -> None:
        """Bind and start serving; raises OSError when the address is taken or not local."""
        try:
            server = _Server(self._address, self._handler, self._context)
        except OSError as exc:
            host, port = self._address
            raise OSError(exc.errno, f"cannot listen on {host}:{port}: {exc.strerror}") from exc
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever, args=(POLL_INTERVAL_SECONDS,), name=self._name, daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        """Stop accepting, close the socket and cut open keep-alive connections."""
        server, thread = self._server, self._thread
        self._server = self._thread = None
        if server is None or thread is None:
            return
        server.stopping.set()
        self.on_stopping()
        server.shutdown()
        server.server_close()
        server.drop_connections()
        thread.join()

    def on_stopping(self) -> None:
        """Hook run as the server stops, to wake handlers waiting on something else than `stopping`."""
