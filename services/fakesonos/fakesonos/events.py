"""UPnP eventing: subscription records, header parsing, and a small pool of NOTIFY senders."""

from __future__ import annotations

import http.client
import logging
import queue
import re
import threading
import zlib
from dataclasses import dataclass
from urllib.parse import urlsplit

from fakesonos import upnp

logger = logging.getLogger(__name__)

DEFAULT_TIMEOUT_SECONDS = 86400  # what a real speaker grants when no TIMEOUT is asked for
MAX_TIMEOUT_SECONDS = 86400
MIN_TIMEOUT_SECONDS = 1
NOTIFY_TIMEOUT_SECONDS = 3.0
SENDER_THREADS = 4

# event URL -> service type
EVENT_PATHS = {
    "/MediaRenderer/AVTransport/Event": "AVTransport",
    "/MediaRenderer/RenderingControl/Event": "RenderingControl",
    "/ZoneGroupTopology/Event": "ZoneGroupTopology",
}

_TIMEOUT_RE = re.compile(r"^\s*second-(\d+)\s*$", re.IGNORECASE)
_CALLBACK_RE = re.compile(r"<(http://[^>]+)>")


@dataclass
class Subscription:
    """One live subscription on one speaker's event URL (mutated under the household lock)."""

    sid: str
    service: str
    callback_url: str
    timeout_seconds: int
    expires_monotonic: float
    next_seq: int = 0
    initial_sent: bool = False  # changes wait for SEQ 0, which carries the full state

    def is_live(self, now_monotonic: float) -> bool:
        """False once the subscription has run out without being renewed."""
        return now_monotonic < self.expires_monotonic

    def take_seq(self) -> int:
        """The SEQ for the next NOTIFY: 0 first, then one more per event."""
        seq = self.next_seq
        self.next_seq += 1
        return seq


@dataclass(frozen=True)
class Notification:
    """One NOTIFY to deliver."""

    sid: str
    seq: int
    callback_url: str
    body: bytes


def parse_timeout(header: str | None) -> int:
    """Seconds granted for a `TIMEOUT: Second-N` request (never `infinite`: soco cannot renew that)."""
    match = _TIMEOUT_RE.match(header or "")
    if match is None:
        return DEFAULT_TIMEOUT_SECONDS
    return max(MIN_TIMEOUT_SECONDS, min(int(match[1]), MAX_TIMEOUT_SECONDS))


def parse_callback(header: str | None) -> str | None:
    """The first http URL of a `CALLBACK: <url><url>` header, or None when there is none."""
    match = _CALLBACK_RE.search(header or "")
    return match[1] if match else None


def new_sid(uid: str, counter: int) -> str:
    """`uuid:RINCON_..._sub0000000001`, the shape real speakers hand out."""
    return f"uuid:{uid}_sub{counter:010d}"


def event_body(document: str) -> bytes:
    """The bytes of a NOTIFY body."""
    return document.encode("utf-8")


class Notifier:
    """Delivers NOTIFYs on a few threads; one subscription always uses the same thread, keeping SEQ order."""

    def __init__(self, threads: int = SENDER_THREADS) -> None:
        self._queues: list[queue.SimpleQueue[Notification | None]] = [
            queue.SimpleQueue() for _ in range(threads)
        ]
        self._stopping = threading.Event()
        self._threads: list[threading.Thread] = []

    def start(self) -> None:
        """Start the sender threads."""
        self._stopping.clear()
        self._threads = [
            threading.Thread(target=self._run, args=(q,), name=f"fakesonos-notify-{n}", daemon=True)
            for n, q in enumerate(self._queues)
        ]
        for thread in self._threads:
            thread.start()

    def stop(self) -> None:
        """Drop what is still queued and stop the threads."""
        self._stopping.set()
        for q in self._queues:
            q.put(None)
        for thread in self._threads:
            thread.join()
        self._threads = []

    def send(self, notification: Notification) -> None:
        """Queue a NOTIFY for delivery (dropped if it cannot be delivered)."""
        if self._threads and not self._stopping.is_set():
            self._queues[zlib.crc32(notification.sid.encode()) % len(self._queues)].put(notification)

    def _run(self, inbox: queue.SimpleQueue[Notification | None]) -> None:
        while (notification := inbox.get()) is not None:
            if not self._stopping.is_set():
                deliver(notification)


def deliver(notification: Notification) -> bool:
    """Send one NOTIFY; False (and a debug line) when the subscriber cannot be reached."""
    url = urlsplit(notification.callback_url)
    connection = http.client.HTTPConnection(
        url.hostname or "", url.port or 80, timeout=NOTIFY_TIMEOUT_SECONDS
    )
    try:
        connection.request(
            "NOTIFY",
            url.path or "/",
            body=notification.body,
            headers={
                "Content-Type": upnp.XML_CONTENT_TYPE,
                "NT": "upnp:event",
                "NTS": "upnp:propchange",
                "SID": notification.sid,
                "SEQ": str(notification.seq),
            },
        )
        with connection.getresponse() as response:
            response.read()
            ok = 200 <= response.status < 300
    except (OSError, http.client.HTTPException) as exc:
        logger.debug(
            "NOTIFY %s seq %d to %s failed: %r", notification.sid, notification.seq, url.geturl(), exc
        )
        return False
    finally:
        connection.close()
    if not ok:
        logger.debug("NOTIFY %s seq %d refused", notification.sid, notification.seq)
    return ok
