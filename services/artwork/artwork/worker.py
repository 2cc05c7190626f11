"""gunicorn's gthread worker, with slow clients and connection floods bounded.

Stock gthread (27.0.1) hands an accepted socket to a thread, which then blocks on header parsing
for as long as the client trickles bytes; and at `worker_connections` it stops accepting, leaving
new clients hanging in the kernel's backlog. This subclass changes three things, all in the
worker's event loop, none per request in a thread:

* The request head is read by the event loop, without a thread, until its blank line arrives; a
  head not complete within `ARTWORK_READ_TIMEOUT_SECONDS` drops the connection (logged, counted).
  A thread only ever sees a complete head, and its socket I/O has that timeout too.
* The limit (`worker_connections`, ARTWORK_MAX_CONNECTIONS) counts busy connections: those with a
  request head arriving or a request in a thread. Idle ones (kept alive between requests, or silent
  since they connected) cost a socket and no thread, and are capped apart, at `_IDLE_PER_BUSY` times
  the limit. Beyond either, an idle connection is closed to make room; when there is none the new
  connection gets a canned 503 at once (logged, counted).
* Closing waits for the client's FIN in the event loop instead of blocking the loop for up to 2 s.

It also holds wait-for-change requests (`?wait=` with a current `If-None-Match`, see waiting.py)
in the event loop, without a thread and outside the connection limit, up to ARTWORK_MAX_WAITERS:
the zone cache's change notice, the wait's end, the client closing or the worker stopping releases
each one. And it answers the commonest request of all itself: a display's poll for the zone image
it already has (a plain `If-None-Match` with the current ETag) gets its 304 from the event loop,
byte for byte the one a thread would send, whenever the zone cache's copy is current without a
read; anything else about the request, or the copy, leaves it to a thread. The next commonest, a
plain fetch of an image (`GET|HEAD /zones/<id>/<file>` or `/art/<file>`, nothing else to it), is
answered by a thread straight from the file, without gunicorn's parser and response object or the
app: the same bytes at about half the CPU (bench/ http).
"""

from __future__ import annotations

import contextlib
import errno
import functools
import math
import os
import resource
import selectors
import socket
import struct
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Any

from gunicorn import SERVER  # type: ignore[import-untyped]
from gunicorn.util import http_date  # type: ignore[import-untyped]
from gunicorn.workers.gthread import TConn, ThreadWorker  # type: ignore[import-untyped]

from artwork import metrics
from artwork.config import server_settings
from artwork.files import ArtNotFound
from artwork.headers import (
    IMMUTABLE_CACHE_CONTROL,
    REVALIDATE_CACHE_CONTROL,
    image_headers,
    rendition_headers,
)
from artwork.unavailable import NowPlayingUnavailable
from artwork.urls import ART_ROUTE, ZONE_IMAGE_ROUTE
from artwork.waiting import (
    STREAM_COMMENT,
    StreamRequest,
    WaitRequest,
    current_etag,
    current_rendition,
    keepalive_response_head,
    not_modified_response,
    parse_plain_image_request,
    parse_stream_request,
    parse_wait_request,
    stream_head,
    zone_event,
)
from contract.layout import ArtName, parse_art_name
from contract.profiles import MIME_TYPES

if TYPE_CHECKING:
    from artwork.state import Services
    from artwork.zones import ZoneView

_PLAIN_IMAGE_STARTS = (b"GET /zones/", b"HEAD /zones/", b"GET /art/", b"HEAD /art/")
_HEAD_ENDS = (b"\r\n\r\n", b"\n\n")  # a bare-LF head is complete too: the parser then answers 400
_RECV_BYTES = 8192
_DEFAULT_FIELD_SIZE = 8190  # gunicorn's own cap when limit_request_field_size is 0
_ACCEPT_AGAIN = (errno.EAGAIN, errno.ECONNABORTED, errno.EWOULDBLOCK)
# Lingering close: long enough for a client to read a small response and close; bounded in count
# so that a flood costs file descriptors only up to this.
_LINGER_SECONDS = 1.0
_LINGER_MAX_SOCKETS = 64
# Only a connection accepted this long ago, and still without a whole request head, may be closed
# to make room (a client's head arrives within milliseconds of its connection).
_EVICT_AFTER_SECONDS = 1.0
# Why the limit counts busy connections only: when a worker restarts (max_requests), its clients
# reconnect to its sibling at once, which then holds all of them. Counting its idle ones too, the
# sibling sat at the limit, closed kept-alive connections to stay under it (gthread closes any
# beyond `limit - threads`), and turned away the reconnects racing those closes with 503s (42 in
# one bench run). A busy connection needs a client waiting on it, so busy ones never outnumber the
# clients; idle ones are bounded by this multiple of the limit, for file descriptors' sake.
_IDLE_PER_BUSY = 4
# A worker retires (and gunicorn starts a fresh one) once its peak RSS has grown this much since it
# started serving: a guard against a slow leak, in place of recycling every so many requests. The
# soak bench finds no growth (under 1 MiB over 100,000 requests), so in practice it never fires;
# recycling by count fired every few seconds under load, each time moving every client to the
# sibling, which then served them all alone at half the throughput until it recycled in turn.
RETIRE_AFTER_GROWTH_BYTES = 64 * 1024 * 1024
# Workers share one listening socket and the kernel wakes all of them for each new connection: the
# first to call accept takes it, however busy it is. Ten clients connecting at once could all land
# on one worker, which then served them alone at a third of two workers' throughput (GIL-bound),
# while the other idled. A worker whose threads are all busy stops watching the listener this long,
# so that a sibling with a free thread takes the newcomer; if none does, it takes it after all.
_ACCEPT_PAUSE_SECONDS = 0.05
_PAUSE_SPENT = -1.0  # paused once in this busy spell already: accept until a thread is free again
_MEMORY_CHECK_SECONDS = 10.0
# A response file goes out in chunks of this many bytes, each within ARTWORK_READ_TIMEOUT_SECONDS:
# most renditions in one call, and a client reading slower than this per timeout is dropped.
_SENDFILE_CHUNK_BYTES = 128 * 1024
# Requests are added up in memory (see metrics.RequestTally) and reach /metrics this often.
_METRICS_FLUSH_SECONDS = 1.0
# An idle event stream gets a comment this often, so that proxies and NAT keep it open.
_STREAM_COMMENT_SECONDS = 15.0

_REJECT_BODY = b'{"error":"too many connections"}'
REJECT_RESPONSE = (
    b"HTTP/1.1 503 Service Unavailable\r\n"
    b"Content-Type: application/json\r\n"
    b"Content-Length: " + str(len(_REJECT_BODY)).encode() + b"\r\n"
    b"Retry-After: 1\r\n"
    b"Access-Control-Allow-Origin: *\r\n"
    b"Connection: close\r\n\r\n" + _REJECT_BODY
)


# What reading a request head found (see BoundedThreadWorker._read_head).
_MORE, _COMPLETE, _GONE = object(), object(), object()


def _is_silent(sock: socket.socket) -> bool:
    """Whether nothing waits unread on a non-blocking socket (closing it then sends no reset)."""
    try:
        return sock.recv(1, socket.MSG_PEEK) == b""  # b"": the client has closed; fine to close too
    except (BlockingIOError, InterruptedError):
        return True
    except OSError:
        return True  # already broken


def _not_modified_now(etag: str) -> bytes:
    """The 304 for a plain poll, with this second's Date; built once a second per ETag."""
    return _not_modified_at(etag, int(time.time()))


@functools.lru_cache(maxsize=64)
def _not_modified_at(etag: str, second: int) -> bytes:
    return keepalive_response_head(
        "304 NOT MODIFIED", rendition_headers(etag, REVALIDATE_CACHE_CONTROL), SERVER, http_date(second)
    )


def _image_now(name: ArtName, cache_control: str, size_bytes: int, mtime_seconds: int | None) -> bytes:
    """The head of a plain image request's 200, with this second's Date; built once a second per image."""
    return _image_at(name, cache_control, size_bytes, mtime_seconds, int(time.time()))


@functools.lru_cache(maxsize=64)
def _image_at(
    name: ArtName, cache_control: str, size_bytes: int, mtime_seconds: int | None, second: int
) -> bytes:
    last_modified = http_date(mtime_seconds) if mtime_seconds is not None else None
    headers = image_headers(f'"{name.hash}"', cache_control, MIME_TYPES[name.ext], size_bytes, last_modified)
    return keepalive_response_head("200 OK", headers, SERVER, http_date(second))


def head_complete(head: bytes | bytearray, searched_from: int) -> bool:
    """Whether the request head ends at or after `searched_from` (bytes before it were searched)."""
    start = max(0, searched_from - 3)
    return any(head.find(end, start) >= 0 for end in _HEAD_ENDS)


def max_head_bytes(limit_line: int, limit_fields: int, limit_field_size: int) -> int:
    """The most head bytes gunicorn's parser may need before it decides; beyond it, it refuses."""
    line = limit_line or 8190
    return 2 + line + limit_fields * ((limit_field_size or _DEFAULT_FIELD_SIZE) + 2) + 4


def should_retire(
    peak_rss_bytes: int, serving_rss_bytes: int, growth_bytes: int = RETIRE_AFTER_GROWTH_BYTES
) -> bool:
    """Whether a worker has grown enough since it started serving to be replaced by a fresh one."""
    return peak_rss_bytes - serving_rss_bytes > growth_bytes


def peak_rss_bytes() -> int:
    """This process's peak resident memory (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def peer_name(addr: Any) -> str:
    """`host:port` of a TCP peer, for log lines."""
    if isinstance(addr, tuple) and len(addr) >= 2:
        return f"{addr[0]}:{addr[1]}"
    return str(addr or "unix socket")


class TimedSocket(socket.socket):
    """A connection's socket whose blocking sends and receives give up after the kernel's timeouts.

    SO_SNDTIMEO and SO_RCVTIMEO bound each call that makes no progress, as Python's own socket
    timeout would, without its cost: that timeout makes the socket non-blocking underneath and
    polls before every call (bench/ http: a poll, a GIL release and a wake-up each, about 30 us of
    CPU a request over stock gthread). Set once per connection; gthread's `setblocking` calls leave
    them be.
    """

    _timeout_seconds = 0.0

    @classmethod
    def adopt(cls, sock: socket.socket, timeout_seconds: float) -> TimedSocket:
        """Take over an accepted socket (the same descriptor), with both timeouts set."""
        timed = cls(sock.family, sock.type, sock.proto, fileno=sock.detach())
        whole = int(timeout_seconds)
        timeval = struct.pack("ll", whole, int((timeout_seconds - whole) * 1_000_000))
        timed.setsockopt(socket.SOL_SOCKET, socket.SO_SNDTIMEO, timeval)
        timed.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, timeval)
        timed._timeout_seconds = timeout_seconds
        return timed

    def sendfile(self, file: Any, offset: int = 0, count: int | None = None) -> int:
        """sendfile(2) a chunk at a time; TimeoutError when a chunk took longer than the timeout.

        Neither CPython's sendfile nor the kernel's timeout alone bounds a client that stops
        reading: CPython's waits with no timeout at all once a blocking send timed out, and a
        blocking sendfile returns only after no progress at all for the timeout, which TCP's
        zero-window probes put off for seconds (a thread held 6-8 s at a 2 s timeout). So, as
        nginx's `sendfile_max_chunk` with its `send_timeout`: each chunk must go within the timeout.
        """
        if self.gettimeout() is not None:  # not blocking: the kernel's timeouts do not apply
            return super().sendfile(file, offset, count)
        available = os.fstat(file.fileno()).st_size - offset
        remaining = available if count is None else min(count, available)
        sent_bytes = 0
        try:
            while remaining > 0:
                started = time.monotonic()
                chunk_bytes = min(remaining, _SENDFILE_CHUNK_BYTES)
                try:
                    sent = os.sendfile(self.fileno(), file.fileno(), offset + sent_bytes, chunk_bytes)
                except BlockingIOError:
                    raise TimeoutError("the client took no data within the timeout") from None
                if sent == 0:
                    break  # the file ended early
                sent_bytes += sent
                remaining -= sent
                if remaining > 0 and time.monotonic() - started > self._timeout_seconds:
                    raise TimeoutError("the client took too long over a chunk of the file")
        finally:
            if sent_bytes:
                file.seek(offset + sent_bytes)  # where CPython's sendfile leaves the file
        return sent_bytes


class HeadConn(TConn):  # type: ignore[misc]
    """A connection whose request head the event loop reads before any thread sees it."""

    def __init__(
        self,
        cfg: Any,
        sock: socket.socket,
        client: Any,
        server: Any,
        *,
        io_timeout_seconds: float,
        linger: Callable[[socket.socket], None],
    ) -> None:
        super().__init__(cfg, TimedSocket.adopt(sock, io_timeout_seconds), client, server)
        self.head = bytearray()
        self.head_deadline = 0.0
        self._linger = linger

    def init(self) -> None:
        """Set up the parser (once), then hand it the head the event loop already read."""
        super().init()
        if self.head:
            self.parser.unreader.unread(bytes(self.head))
            self.head.clear()

    def close(self, graceful: bool = False) -> None:
        """Close; a graceful close from the event loop lingers there instead of blocking it."""
        if graceful and threading.current_thread() is threading.main_thread():
            self._linger(self.sock)
        else:
            super().close(graceful)


@dataclass
class Held:
    """A request held in the event loop until its zone's ETag differs from `etag`, or `deadline`."""

    wait: WaitRequest
    etag: str
    deadline: float


@dataclass
class Stream:
    """An event stream kept in the event loop: the ETag last sent, and when a comment is due."""

    request: StreamRequest
    etag: str
    comment_at: float


class BoundedThreadWorker(ThreadWorker):  # type: ignore[misc]
    """gthread with event-loop head reading, a read deadline, eviction and a fast 503 at the limit."""

    alive: bool  # gunicorn's: False once the worker is stopping
    nr_conns: int  # gthread's: connections open, idle or busy

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        settings = server_settings(os.environ).app
        self.read_timeout_seconds = settings.read_timeout_seconds
        self.max_wait_seconds = settings.max_wait_seconds
        self.max_waiters = settings.max_waiters
        self.held: dict[HeadConn, Held] = {}
        self.streams: dict[HeadConn, Stream] = {}
        # The earliest held deadline or stream comment may be due no sooner than this: the loop
        # looks at them only then, not at every event (they are many under load).
        self.timers_due = math.inf
        self.app_services: Services | None = None  # the artwork app's, once loaded (see run)
        self.max_head_bytes = max_head_bytes(
            self.cfg.limit_request_line, self.cfg.limit_request_fields, self.cfg.limit_request_field_size
        )
        self.reading_conns: deque[HeadConn] = deque()  # in deadline order: one timeout for all
        self.lingering: dict[socket.socket, float] = {}  # socket -> deadline, in insertion order
        self.max_open = self.worker_connections * (1 + _IDLE_PER_BUSY)
        # gthread answers with `Connection: close` beyond this many kept-alive connections: only at
        # the cap of open ones here (see _IDLE_PER_BUSY).
        self.max_keepalived = self.max_open
        self._listening = False
        self._accept_paused_until = 0.0  # 0: may pause; > 0: paused until then; _PAUSE_SPENT
        self.serving_rss_bytes = 0  # measured once the app is loaded, in run
        self._memory_check_at = math.inf
        self._metrics_flush_at = 0.0
        # TLS is unwrapped in a thread, and an access log line comes from gunicorn's response object:
        # with either, every request takes gunicorn's own way.
        self._plain_answers_allowed = not self.cfg.is_ssl and not self.cfg.accesslog

    def run(self) -> None:
        """Follow the app's zone changes (for held requests), then run gthread's event loop."""
        # Imported here, in the worker: Flask and Redis would add about 18 MiB to the master.
        from artwork.state import installed_services  # noqa: PLC0415

        self.app_services = installed_services(self.wsgi)
        add_listener = getattr(self.app_services.zones, "add_listener", None) if self.app_services else None
        if add_listener is not None:  # the zone cache tells of changes; a plain repository cannot
            add_listener(self._zones_changed)
        self.serving_rss_bytes = peak_rss_bytes()
        self._memory_check_at = time.monotonic() + _MEMORY_CHECK_SECONDS
        try:
            super().run()
        finally:
            metrics.flush()  # the last requests' figures, before the process goes

    # --- accepting -------------------------------------------------------------------------------

    def set_accept_enabled(self, enabled: bool) -> None:
        """Watch the listener until shutting down: `accept` itself applies the limits."""
        if not self.alive and (self.held or self.streams):
            self._answer_held_at_stop()  # the first step of gthread's shutdown: no thread will take them
        # gthread asks for this whenever nr_conns crosses worker_connections; only stopping counts here.
        self._accepting = enabled
        self._sync_listener(time.monotonic())

    def _sync_listener(self, now: float) -> None:
        """Watch the listener while alive and not leaving newcomers to a less busy sibling."""
        listening = self.alive and now >= self._accept_paused_until
        if listening != self._listening:
            for listener in self.sockets:
                if listening:
                    listener.setblocking(False)
                    self.poller.register(listener, selectors.EVENT_READ, self.accept)
                else:
                    self.poller.unregister(listener)
            self._listening = listening

    def _not_idle(self) -> int:
        """Connections with a request under way or about to be (all but the kept-alive ones)."""
        return self.nr_conns - len(self.keepalived_conns)

    def busy_conns(self) -> int:
        """Connections whose request a thread has or waits for: not kept alive, nor sending a head."""
        # Heads are read here, by the event loop, so a client that stalls in its head (slowloris)
        # costs a file descriptor, not a thread: it counts against the cap of open connections
        # only, where `_evict_idle` makes room. Counted as busy, twenty of them on two workers
        # turned every display away with 503s until the read timeout (the chaos flood: 184 in
        # four minutes).
        return self.nr_conns - len(self.keepalived_conns) - len(self.reading_conns)

    def accept(self, listener: Any) -> None:
        """Accept one connection and wait for its request head in the event loop."""
        # Connections just accepted count here: ten clients connect before any sends its request.
        if self._not_idle() >= self.cfg.threads and self.cfg.workers > 1 and not self._accept_paused_until:
            # Every thread has a request: leave the newcomer to a sibling with a free thread, if one
            # takes it within the pause; then take it here after all (once per busy spell).
            self._accept_paused_until = time.monotonic() + _ACCEPT_PAUSE_SECONDS
            self._sync_listener(time.monotonic())
            return
        if self.nr_conns >= self.max_open or self.busy_conns() >= self.worker_connections:
            self._accept_over_limit(listener)
            return
        self._accept_within_limit(listener)

    def _accept_within_limit(self, listener: Any) -> None:
        accepted = self._accept_one(listener)
        if accepted is None:
            return
        sock, addr = accepted
        self.nr_conns += 1
        conn = HeadConn(
            self.cfg,
            sock,
            addr,
            listener.getsockname(),
            io_timeout_seconds=self.read_timeout_seconds,
            linger=self._linger,
        )
        self._await_head(conn)

    def _accept_over_limit(self, listener: Any) -> None:
        # Too many open: closing an idle one makes room. Too many busy: nothing does, short of
        # cutting a request off.
        if self.busy_conns() < self.worker_connections and self._evict_idle():
            self._accept_within_limit(listener)
            return
        accepted = self._accept_one(listener)
        if accepted is None:
            return
        sock, addr = accepted
        metrics.count_rejection("connection_limit")
        self.log.warning(
            "rejected connection from %s with 503: %d busy connections of %d open; the limits are %d and %d",
            peer_name(addr),
            self.busy_conns(),
            self.nr_conns,
            self.worker_connections,
            self.max_open,
        )
        try:
            sock.setblocking(False)
            sock.send(REJECT_RESPONSE)  # far smaller than an empty socket's send buffer
        except OSError:
            sock.close()
            return
        self._linger(sock)

    @staticmethod
    def _accept_one(listener: Any) -> tuple[socket.socket, Any] | None:
        try:
            sock, addr = listener.accept()
        except OSError as exc:
            if exc.errno in _ACCEPT_AGAIN:
                return None
            raise
        return sock, addr

    def _evict_idle(self) -> bool:
        """Close the oldest idle kept-alive connection, else the oldest long without a whole head."""
        conn = next((c for c in self.keepalived_conns if _is_silent(c.sock)), None)
        if conn is not None:
            self.keepalived_conns.remove(conn)
        else:
            # A connection that has only just been accepted is most likely sending its request.
            accepted_before = time.monotonic() - _EVICT_AFTER_SECONDS
            conn = next(
                (
                    c
                    for c in self.reading_conns
                    if c.head_deadline - self.read_timeout_seconds <= accepted_before and _is_silent(c.sock)
                ),
                None,
            )
            if conn is None:
                return False
            self.reading_conns.remove(conn)
        self._forget(conn)
        return True

    # --- reading request heads in the event loop ---------------------------------------------------

    def on_client_socket_readable(self, conn: HeadConn, client: Any) -> None:
        """A kept-alive connection's next request is starting: read its head here too.

        It is read at once, before touching the poller: a short request head arrives whole, and then
        the socket leaves the poller as in stock gthread, with no second registration for the head.
        """
        self.keepalived_conns.remove(conn)
        outcome = self._read_head(conn)
        if outcome is _MORE:
            conn.head_deadline = time.monotonic() + self.read_timeout_seconds
            self.reading_conns.append(conn)
            self.poller.modify(client, selectors.EVENT_READ, partial(self._on_head_readable, conn))
        elif outcome is _GONE:
            self._forget(conn)
        else:
            self.poller.unregister(client)
            self._dispatch(conn)

    def _await_head(self, conn: HeadConn) -> None:
        conn.head_deadline = time.monotonic() + self.read_timeout_seconds
        self.reading_conns.append(conn)
        self.poller.register(conn.sock, selectors.EVENT_READ, partial(self._on_head_readable, conn))

    def _on_head_readable(self, conn: HeadConn, _client: Any) -> None:
        outcome = self._read_head(conn)
        if outcome is _MORE:
            return
        self.reading_conns.remove(conn)
        if outcome is _GONE:
            self._forget(conn)
            return
        self.poller.unregister(conn.sock)
        self._dispatch(conn)

    def _read_head(self, conn: HeadConn) -> object:
        """Read what has arrived of a request head: _MORE to come, _COMPLETE, or _GONE (client left)."""
        try:
            chunk = conn.sock.recv(_RECV_BYTES)
        except (BlockingIOError, InterruptedError):
            return _MORE
        except OSError:
            chunk = b""
        if not chunk:  # the client went away before sending a request
            return _GONE
        searched = len(conn.head)
        conn.head += chunk
        if not head_complete(conn.head, searched) and len(conn.head) <= self.max_head_bytes:
            return _MORE
        return _COMPLETE

    def _dispatch(self, conn: HeadConn) -> None:
        """A whole head is here: answer a plain poll, hold it for a change, or hand it to a thread."""
        conn.data_ready = True  # gthread must not wait for data: it is all here
        if self._answer_plain_poll(conn):
            return
        if not self._hold(conn):
            self.enqueue_req(conn)

    # --- plain polls: the display already has the current image --------------------------------------

    def _answer_plain_poll(self, conn: HeadConn) -> bool:
        """Answer `GET /zones/<id>/<file>` with the current ETag in If-None-Match here: a 304, kept alive.

        This is most requests by far (a display polls every second and the cover changes a few times
        an hour). A thread would parse the head again, build a WSGI environ and a response for the
        same few hundred bytes, all under the GIL that bounds a worker (bench/ http, 304s).
        """
        head = conn.head
        if (
            not head.startswith((b"GET /zones/", b"HEAD /zones/"))
            or (b"If-None-Match" not in head and b"if-none-match" not in head)  # other spellings: a thread
            or not self._may_answer_itself()
        ):
            return False
        started = time.perf_counter()
        poll = parse_plain_image_request(bytes(head))
        if poll is None or poll.zone_id is None or self.app_services is None:
            return False
        # Only from memory: while the copy is not following, a read would wait on Redis, and here
        # the whole worker would wait with it.
        view = self._current_copy()
        if view is None:
            return False
        try:
            name = current_rendition(self.app_services, poll.zone_id, poll.filename, view)
        except NowPlayingUnavailable:
            return False  # a malformed zone: a thread answers 503
        etag = f'"{name.hash}"' if name is not None else None
        if etag is None or etag != poll.if_none_match:
            return False  # changed (200), or not a servable image (404): a thread answers
        response = _not_modified_now(etag)
        try:
            sent = conn.sock.send(response)  # the socket is non-blocking here
        except OSError:
            sent = -1
        conn.head.clear()
        self.nr += 1
        metrics.request_answered_at_once(ZONE_IMAGE_ROUTE, 304, started)
        if sent != len(response):  # the client left, or has not read its last response yet
            self._forget(conn)
            return True
        # Back to kept-alive, as gthread's finish_request does after a response.
        conn.data_ready = False
        conn.set_timeout()
        self.keepalived_conns.append(conn)
        self.poller.register(conn.sock, selectors.EVENT_READ, partial(self.on_client_socket_readable, conn))
        return True

    def _may_answer_itself(self) -> bool:
        """Whether a plain request may be answered here, without gunicorn's request machinery, now."""
        return (
            self._plain_answers_allowed
            and self.app_services is not None
            and self.alive
            and self.nr + 1 < self.max_requests  # gthread's own restart logic answers the last one
            and len(self.keepalived_conns) < self.max_keepalived  # else gthread answers `Connection: close`
        )

    def _current_copy(self) -> ZoneView | None:
        """The zone cache's copy when it is current without a read (never waits on Redis); else None."""
        zones = self.app_services.zones if self.app_services is not None else None
        copy = getattr(zones, "copy", None)  # the zone cache's; a plain repository has none
        return copy() if copy is not None else None

    # --- plain image requests: a thread answers from the file, without gunicorn's request machinery --

    def handle(self, conn: HeadConn) -> Any:
        """gthread's, except that a plain image request is answered straight from the file."""
        answered = self._serve_plain_image(conn)
        return super().handle(conn) if answered is None else answered

    def _serve_plain_image(self, conn: HeadConn) -> bool | None:
        """Answer `GET|HEAD /zones/<id>/<file>` or `/art/<file>` with its 200 here; None: the app answers.

        Runs in a thread. gunicorn's parser, the WSGI environ, the app and gunicorn's response object
        cost most of an image's 200 under the GIL that bounds a worker (bench/ http, py-spy), for a
        head the event loop has already read. The bytes on the wire are the app's, Date aside.
        Anything else the app must see (a 404, a 503, a 304 the loop could not give, the worker's
        last request, TLS, an access log) goes the usual way.
        """
        head = conn.head
        if not head.startswith(_PLAIN_IMAGE_STARTS) or not self._may_answer_itself():
            return None
        request = parse_plain_image_request(bytes(head))
        if request is None or self.app_services is None:
            return None
        started = time.perf_counter()
        try:
            if request.zone_id is None:
                name = parse_art_name(request.filename)
                route, cache_control = ART_ROUTE, IMMUTABLE_CACHE_CONTROL
            else:
                # From memory only, as in the loop: when the copy is behind, the app catches it up.
                view = self._current_copy()
                if view is None:
                    return None
                name = current_rendition(self.app_services, request.zone_id, request.filename, view)
                route, cache_control = ZONE_IMAGE_ROUTE, REVALIDATE_CACHE_CONTROL
            if name is None or f'"{name.hash}"' == request.if_none_match:
                return None  # a 404, or a 304 (the loop gives zone images' when it can): the app answers
            rendition = self.app_services.art.open(name)
        except (NowPlayingUnavailable, ArtNotFound):
            return None
        with rendition.file:
            # Only a rendition by its own name is a validator; a zone's image changes under its URL.
            mtime_seconds = int(rendition.mtime_seconds) if request.zone_id is None else None
            response_head = _image_now(name, cache_control, rendition.size_bytes, mtime_seconds)
            head.clear()
            conn.init()  # gthread's parser, for the connection's next requests; this head is not for it
            conn.sock.setblocking(True)  # kept-alive sockets wait in the poller non-blocking
            self.nr += 1
            metrics.request_started()
            body_bytes = 0 if request.head_only else rendition.size_bytes
            try:
                conn.sock.sendall(response_head)
                if body_bytes:
                    conn.sock.sendfile(rendition.file, 0, body_bytes)
            except (TimeoutError, BlockingIOError):  # a write made no progress in time (TimedSocket)
                self._drop_slow_reader(conn)
                return False
            except OSError:  # the client left
                return False
            finally:
                metrics.request_finished(route, 200, body_bytes, started)
        return True

    # --- wait-for-change: requests held without a thread -------------------------------------------

    @property
    def waiting(self) -> int:
        """Held requests and event streams: they share ARTWORK_MAX_WAITERS."""
        return len(self.held) + len(self.streams)

    def _hold(self, conn: HeadConn) -> bool:
        """Hold a `?wait=` request whose client has the current ETag; False: a thread answers now."""
        if self.app_services is None or not self.alive:
            return False
        head = conn.head
        if b"wait=" not in head and b"/events " not in head:
            return False  # most requests: a substring test on the head, no parsing, no copy
        request_head = bytes(head)
        stream = parse_stream_request(request_head)
        if stream is not None:
            return self._start_stream(conn, self.app_services, stream)
        wait = parse_wait_request(request_head, self.max_wait_seconds)
        if wait is None:
            return False
        if self.waiting >= self.max_waiters:
            metrics.count_wait("over_limit")  # answered at once, as `wait=0`: polling, never an error
            return False
        try:
            etag = current_etag(self.app_services, wait)
        except NowPlayingUnavailable:
            return False  # the thread's answer says so
        if etag is None or etag != wait.if_none_match:
            return False  # changed already (200), or nothing to wait on (404)
        deadline = time.monotonic() + wait.wait_seconds
        self.held[conn] = Held(wait, etag, deadline)
        self.timers_due = min(self.timers_due, deadline)
        self.nr_conns -= 1  # held requests have their own limit
        conn.sock.setblocking(False)
        self.poller.register(conn.sock, selectors.EVENT_READ, partial(self._on_held_readable, conn))
        metrics.waiters(self.waiting)
        return True

    def _start_stream(self, conn: HeadConn, app_services: Services, request: StreamRequest) -> bool:
        """Keep an event stream here; False (a thread answers 404 or 503) for an unknown zone or no room."""
        if self.waiting >= self.max_waiters:
            metrics.count_wait("over_limit")
            return False
        try:
            event = zone_event(app_services, request.zone_id)
        except NowPlayingUnavailable:
            return False
        if event is None:
            return False
        etag, data = event
        first = stream_head() + (data if etag != request.last_event_id else b"")
        conn.sock.setblocking(False)
        if not self._send_all(conn.sock, first):
            conn.close()
            self.nr_conns -= 1
            return True
        comment_at = time.monotonic() + _STREAM_COMMENT_SECONDS
        self.streams[conn] = Stream(request, etag, comment_at)
        self.timers_due = min(self.timers_due, comment_at)
        self.nr_conns -= 1
        self.poller.register(conn.sock, selectors.EVENT_READ, partial(self._on_stream_readable, conn))
        metrics.waiters(self.waiting)
        return True

    @staticmethod
    def _send_all(sock: socket.socket, data: bytes) -> bool:
        """Send without blocking the event loop; False when the client is not keeping up (or gone)."""
        try:
            return sock.send(data) == len(data)
        except OSError:
            return False

    def _end_stream(self, conn: HeadConn, outcome: str) -> None:
        del self.streams[conn]
        with contextlib.suppress(KeyError, ValueError):
            self.poller.unregister(conn.sock)
        conn.close()
        metrics.count_wait(outcome)
        metrics.waiters(self.waiting)

    def _on_stream_readable(self, conn: HeadConn, _client: Any) -> None:
        try:
            closed = conn.sock.recv(_RECV_BYTES) == b""  # anything a client sends is ignored
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            closed = True
        if closed:
            self._end_stream(conn, "closed")

    def _update_streams(self) -> None:
        if self.app_services is None:
            return
        for conn, stream in list(self.streams.items()):
            try:
                event = zone_event(self.app_services, stream.request.zone_id)
            except NowPlayingUnavailable:
                continue
            if event is None:
                self._end_stream(conn, "woken")  # the zone is gone: the client reconnects and learns why
            elif event[0] != stream.etag:
                if self._send_all(conn.sock, event[1]):
                    stream.etag = event[0]
                    stream.comment_at = time.monotonic() + _STREAM_COMMENT_SECONDS
                    metrics.count_wait("woken")
                else:
                    self._end_stream(conn, "closed")

    def _comment_streams(self, now: float) -> None:
        for conn, stream in list(self.streams.items()):
            if stream.comment_at <= now:
                if self._send_all(conn.sock, STREAM_COMMENT):
                    stream.comment_at = now + _STREAM_COMMENT_SECONDS
                else:
                    self._end_stream(conn, "closed")

    def _zones_changed(self) -> None:
        """Called by the zone cache, from any thread: look at the held requests in the event loop."""
        if self.held or self.streams:
            self.method_queue.defer(self._recheck_held)

    def _recheck_held(self) -> None:
        self._update_streams()
        if self.app_services is None:
            return
        for conn, held in list(self.held.items()):
            try:
                etag = current_etag(self.app_services, held.wait)
            except NowPlayingUnavailable:
                continue  # Redis is away: wait on, until it is back or the wait ends
            if etag != held.etag:
                self._release(conn, "woken")

    def _on_held_readable(self, conn: HeadConn, _client: Any) -> None:
        try:
            closed = conn.sock.recv(1, socket.MSG_PEEK) == b""
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            closed = True
        if closed:  # the client gave up: nothing is kept for it
            self._unhold(conn, "closed")
            conn.close()
        else:  # it sent more (a pipelined request): answer this one now
            self._release(conn, "woken")

    def _release(self, conn: HeadConn, outcome: str) -> None:
        """Hand a held request to a thread, which answers it as usual: 200 if changed, else 304."""
        self._unhold(conn, outcome)
        self.nr_conns += 1
        self.enqueue_req(conn)

    def _unhold(self, conn: HeadConn, outcome: str) -> None:
        """Stop holding a request (its socket leaves the poller) and count how its wait ended."""
        del self.held[conn]
        with contextlib.suppress(KeyError, ValueError):
            self.poller.unregister(conn.sock)
        metrics.count_wait(outcome)
        metrics.waiters(self.waiting)

    def _release_expired(self, now: float) -> None:
        for conn, held in list(self.held.items()):
            if held.deadline > now:
                continue
            try:
                changed = self.app_services is None or current_etag(self.app_services, held.wait) != held.etag
            except NowPlayingUnavailable:
                # Redis is away: nothing is known to have changed, so the wait ends as any wait does.
                self._answer_held(conn, held, "timed_out")
                continue
            self._release(conn, "woken" if changed else "timed_out")

    def _answer_held(self, conn: HeadConn, held: Held, outcome: str) -> None:
        """Answer a held request with its 304 from the event loop, and close its connection."""
        self._unhold(conn, outcome)
        try:
            conn.sock.send(not_modified_response(held.etag))  # far smaller than a send buffer
        except OSError:
            conn.sock.close()
            return
        self._linger(conn.sock)

    def _answer_held_at_stop(self) -> None:
        """The worker stops: every held request gets its 304 from here, every stream ends."""
        for conn, held in list(self.held.items()):
            self._answer_held(conn, held, "stopped")
        for conn in list(self.streams):
            self._end_stream(conn, "stopped")  # EventSource reconnects, to another worker

    def wait_for_and_dispatch_events(self, timeout: float) -> None:
        """Wake for the first held request's deadline and the end of an accept pause too."""
        now = time.monotonic()
        if self.timers_due != math.inf:
            timeout = max(0.0, min(timeout, self.timers_due - now))
        if self._accept_paused_until:
            if self._not_idle() < self.cfg.threads:
                self._accept_paused_until = 0.0  # a thread is free: the busy spell is over
                self._sync_listener(now)
            elif now >= self._accept_paused_until > 0:
                self._accept_paused_until = _PAUSE_SPENT  # no sibling took it: accept here until idle
                self._sync_listener(now)
            elif self._accept_paused_until > 0:
                timeout = max(0.0, min(timeout, self._accept_paused_until - now))
        super().wait_for_and_dispatch_events(timeout)

    def _run_timers(self, now: float) -> None:
        """End the waits that are over and comment idle streams, then note when to look again."""
        if now < self.timers_due:
            return
        self._release_expired(now)
        self._comment_streams(now)
        self.timers_due = min(
            (*(held.deadline for held in self.held.values()), *(s.comment_at for s in self.streams.values())),
            default=math.inf,
        )

    def handle_request(self, req: Any, conn: HeadConn) -> bool:
        """gthread's, with a client that stopped taking the response dropped in one line, not a traceback."""
        try:
            return bool(super().handle_request(req, conn))
        except (TimeoutError, BlockingIOError):  # a write made no progress within the timeout (TimedSocket)
            self._drop_slow_reader(conn)
            return False  # the connection closes

    def _drop_slow_reader(self, conn: HeadConn) -> None:
        metrics.count_rejection("write_timeout")
        self.log.warning(
            "dropped %s: took no data of the response for %.1f s",
            peer_name(conn.client),
            self.read_timeout_seconds,
        )

    def murder_pending(self) -> None:
        """Also drop connections whose head did not arrive in time, and finish lingering closes."""
        super().murder_pending()
        now = time.monotonic()
        while self.reading_conns and self.reading_conns[0].head_deadline <= now:
            conn = self.reading_conns.popleft()
            if conn.head:  # a trickling client; a silent one is just an idle connection
                metrics.count_rejection("read_timeout")
                self.log.warning(
                    "dropped %s: request head incomplete after %.1f s (%d bytes)",
                    peer_name(conn.client),
                    self.read_timeout_seconds,
                    len(conn.head),
                )
            self._forget(conn)
        self._run_timers(now)
        self._expire_lingering(now)
        if now >= self._metrics_flush_at:
            self._metrics_flush_at = now + _METRICS_FLUSH_SECONDS
            metrics.flush()
        if now >= self._memory_check_at:
            self._memory_check_at = now + _MEMORY_CHECK_SECONDS
            self._retire_if_grown()

    def _retire_if_grown(self) -> None:
        peak = peak_rss_bytes()
        if self.alive and should_retire(peak, self.serving_rss_bytes):
            self.log.warning(
                "worker retiring: peak memory grew %.0f MiB since it started serving; replacing it",
                (peak - self.serving_rss_bytes) / 2**20,
            )
            self.alive = False  # gthread's graceful stop: in-flight requests finish, the arbiter forks anew

    def murder_keepalived(self, force: bool = False) -> None:
        """On shutdown (force) close everything this subclass holds as well."""
        super().murder_keepalived(force)
        if force:
            while self.reading_conns:
                self._forget(self.reading_conns.popleft())
            self._expire_lingering(float("inf"))

    def _forget(self, conn: HeadConn) -> None:
        """Unregister and close a connection that no thread holds."""
        with contextlib.suppress(KeyError, ValueError):  # not registered
            self.poller.unregister(conn.sock)
        self.nr_conns -= 1
        conn.close()

    # --- closing without blocking the event loop ---------------------------------------------------

    def _linger(self, sock: socket.socket) -> None:
        """Send FIN, then read and discard until the client closes, so it never sees a reset."""
        if len(self.lingering) >= _LINGER_MAX_SOCKETS:
            sock.close()
            return
        try:
            sock.setblocking(False)
            sock.shutdown(socket.SHUT_WR)
            self.poller.register(sock, selectors.EVENT_READ, self._on_lingering_readable)
        except (OSError, ValueError, KeyError):
            sock.close()
            return
        self.lingering[sock] = time.monotonic() + _LINGER_SECONDS

    def _on_lingering_readable(self, sock: socket.socket) -> None:
        try:
            if sock.recv(_RECV_BYTES):
                return  # more of the client's request: keep draining until EOF or the deadline
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            pass
        self._end_linger(sock)

    def _expire_lingering(self, now: float) -> None:
        for sock, deadline in list(self.lingering.items()):
            if deadline > now:
                break
            self._end_linger(sock)

    def _end_linger(self, sock: socket.socket) -> None:
        del self.lingering[sock]
        with contextlib.suppress(KeyError, ValueError):
            self.poller.unregister(sock)
        sock.close()
