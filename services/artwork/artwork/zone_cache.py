"""Each worker's copy of the zones, kept current by the poller's change channel.

Displays poll their zone's image every second, and reading a zone from Redis costs a worker more
CPU than serving the image itself (bench/ http). The poller publishes every change on
`sonos:changes` after writing the zone's hash (contract/redis_keys.py), so a worker keeps the zones in memory:
it subscribes, then reads every zone, then re-reads a zone whenever a message names it.

Pub/Sub is at-most-once: a message published while the subscription is down is lost, and redis-py
would even reconnect and resubscribe without telling. So the copy is used only while its one
subscription is unbroken. On any error the copy is dropped and requests read Redis directly, as
they would without a cache, until a background thread has subscribed again and read every zone
afresh.

While Redis does not answer at all (it restarts, or is being replaced), nothing can change: the
poller keeps its changes until Redis is back. So the copy a worker had when Redis went away is
then served as the zones last known, and displays keep their picture instead of a 503. Redis keeps
nothing on disk and comes back empty: until the poller has written its heartbeat or a zone again,
the zones last known are served too, not "unknown zone".

A request never answers from a copy older than what Redis has already sent this worker: before it
reads the copy, it applies any message waiting on the subscription (under the lock the background
thread takes too). The poller publishes inside MULTI/EXEC, and Redis writes the message to its
subscribers before the reply to EXEC (it queues the subscriber's output ahead of a client whose
reply was already pending), so a change is visible to every request that starts after the poller's
write completed. A bare PUBLISH gives no such order: its reply may overtake the message.
"""

from __future__ import annotations

import json
import logging
import os
import select
import socket
import sys
import threading
import time
from collections.abc import Callable, Mapping
from typing import TypeVar

import redis
from redis.client import PubSub

from artwork.config import Settings
from artwork.zones import NowPlayingUnavailable, RedisUnreachable, ZoneRepository, ZoneView, make_redis_client
from contract.redis_keys import RedisKeys
from contract.zone import ZONE_ID_RE, ZoneState

log = logging.getLogger(__name__)

# The background thread applies each message as it arrives; at least this often it also sends
# redis-py's health-check PING when due, and re-reads everything when that is due.
CATCH_UP_SECONDS = 1.0
# Every zone is read again this often, so that an edit which published nothing (FLUSHALL, a
# redis-cli HSET) is served for no longer than this.
RESYNC_SECONDS = 30.0
HEALTH_CHECK_SECONDS = 10.0
_RETRY_MIN_SECONDS = 0.5
_RETRY_MAX_SECONDS = 10.0
# Bounds the read of one message whose first bytes have arrived.
_MESSAGE_READ_SECONDS = 0.5
_JOIN_SECONDS = 5.0


_T = TypeVar("_T")


class SubscriptionLost(Exception):
    """The change channel is not being followed right now; the copy cannot be trusted."""


def zone_named(data: object) -> str | None:
    """The zone id a change message names; None when it names none (then every zone is read)."""
    if not isinstance(data, str):
        return None
    try:
        # The zone's JSON (`ZoneState.to_json_dict`), {"id": ..., "removed": true}, or
        # RESYNC_MESSAGE. Only the id matters: the zone is read again from its hash, the one
        # place its state is decoded.
        payload = json.loads(data)
    except ValueError:
        return None
    zone_id = payload.get("id") if isinstance(payload, dict) else None
    if isinstance(zone_id, str) and ZONE_ID_RE.match(zone_id):
        return zone_id
    return None


class CachedZones:
    """Zones from this worker's copy while it follows the change channel, from Redis otherwise."""

    def __init__(
        self,
        repository: ZoneRepository,
        subscriber: redis.Redis,
        channel: str,
        *,
        confirm_timeout_seconds: float,
        catch_up_seconds: float = CATCH_UP_SECONDS,
        resync_seconds: float = RESYNC_SECONDS,
        on_following: Callable[[bool], None] = lambda _following: None,
    ) -> None:
        # `subscriber` must not retry: a retry reconnects, and messages sent meanwhile are lost.
        self._repository = repository
        self._subscriber = subscriber
        self._channel = channel
        self._confirm_timeout_seconds = confirm_timeout_seconds
        self._catch_up_seconds = catch_up_seconds
        self._resync_seconds = resync_seconds
        self._on_following = on_following
        self._lock = threading.Lock()
        self._pubsub: PubSub | None = None
        # Set together while following; None: every read goes to Redis.
        self._view: ZoneView | None = None
        self._socket_fd: int | None = None  # the subscription's socket: readable when a message waits
        self._sock: socket.socket | None = None  # the same socket
        self._drained_at: int | None = None  # its bytes received (TCP) when last read to the end
        self._resync_due = 0.0
        # The copy as it was when following stopped, until Redis answers a read (see _from_redis).
        self._last_known: ZoneView | None = None
        self._serving_last_known = False  # logged once per outage
        self._lost = False  # an outage is logged once, and its end once
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._follow, name="zone-cache", daemon=True)
        self._listeners: list[Callable[[], None]] = []
        self._wake_read_fd, self._wake_write_fd = os.pipe()  # close() interrupts the thread's wait

    @classmethod
    def from_settings(
        cls,
        settings: Settings,
        *,
        catch_up_seconds: float = CATCH_UP_SECONDS,
        resync_seconds: float = RESYNC_SECONDS,
        on_following: Callable[[bool], None] = lambda _following: None,
    ) -> CachedZones:
        """The zones of `REDIS_URL` and `REDIS_PREFIX`; connects lazily, follows once started."""
        keys = RedisKeys(settings.redis_prefix)
        return cls(
            ZoneRepository(make_redis_client(settings), keys),
            # No retries on the subscription: a silent reconnect would hide lost messages.
            make_redis_client(settings, retries=0, health_check_interval=HEALTH_CHECK_SECONDS),
            keys.changes,
            confirm_timeout_seconds=settings.redis_timeout_seconds,
            catch_up_seconds=catch_up_seconds,
            resync_seconds=resync_seconds,
            on_following=on_following,
        )

    def start(self) -> None:
        """Start following the channel in the background; until it follows, reads go to Redis."""
        self._thread.start()

    def add_listener(self, callback: Callable[[], None]) -> None:
        """Call `callback` (from any thread, quickly) whenever what the zones read may have changed."""
        self._listeners.append(callback)

    @property
    def following(self) -> bool:
        """Whether reads are answered from the copy."""
        return self._socket_fd is not None

    # --- ZoneSource ----------------------------------------------------------------------------

    def get(self, zone_id: str) -> ZoneState | None:
        """One zone, or None when it is unknown."""
        view = self._current()
        if view is not None:
            return view.get(zone_id)
        return self._from_redis(lambda: self._repository.get(zone_id), lambda last: last.get(zone_id))

    def list(self) -> list[ZoneState]:
        """Every readable zone, sorted by id."""
        view = self._current()
        return view.list() if view is not None else self._from_redis(self._repository.list, ZoneView.list)

    def ids(self) -> tuple[str, ...]:
        """Every valid zone id."""
        view = self._current()
        return view.ids() if view is not None else self._from_redis(self._repository.ids, ZoneView.ids)

    def rooms(self) -> Mapping[str, str]:
        """Room id -> the zone id of the group it is in."""
        view = self._current()
        if view is not None:
            return view.rooms
        return self._from_redis(self._repository.rooms, lambda last: last.rooms)

    def _from_redis(self, read: Callable[[], _T], read_last: Callable[[ZoneView], _T]) -> _T:
        """A read of Redis; while it cannot tell (see the module), the same read of the zones last known."""
        last = self._last_known
        try:
            answer = read()
            if last is None or answer or not self._repository.empty():
                self._forget_last_known()  # from now on Redis may know of changes the copy missed
                return answer
            reason = "Redis came back empty"
        except RedisUnreachable:
            if last is None:
                raise
            reason = "Redis does not answer"
        self._serve_last_known(reason)
        return read_last(last)

    def _serve_last_known(self, reason: str) -> None:
        if not self._serving_last_known:
            self._serving_last_known = True
            log.warning("zone cache: %s; serving the zones as last known", reason)

    def _forget_last_known(self) -> None:
        self._last_known = None
        if self._serving_last_known:
            self._serving_last_known = False
            log.info("zone cache: Redis answers again")

    def copy(self) -> ZoneView | None:
        """The copy if it is current as it stands, with nothing to read first; None otherwise.

        Never waits: not on Redis, not on the lock. For the worker's event loop, which must not
        block; a reader that may wait (a request thread) then brings the copy up to date.
        """
        socket_fd = self._socket_fd
        # Messages are only ever read with the lock held, and drained until redis-py has none
        # buffered. So when nothing arrived since and nobody holds the lock, the copy is current,
        # and the common case costs one getsockopt(2) and no lock. The order of the checks matters.
        if socket_fd is None or self._maybe_behind(socket_fd) or self._lock.locked():
            return None
        return self._view

    def ping(self) -> bool:
        """Whether Redis answers right now (always asked, never the copy)."""
        return self._repository.ping()

    def close(self) -> None:
        """Stop the background thread, unsubscribe and release every connection (once)."""
        if self._stop.is_set():
            return
        self._stop.set()
        os.write(self._wake_write_fd, b"x")
        if self._thread.is_alive():
            self._thread.join(_JOIN_SECONDS)
        os.close(self._wake_read_fd)
        os.close(self._wake_write_fd)
        with self._lock:
            self._drop()
        self._subscriber.close()
        self._repository.close()

    # --- the copy --------------------------------------------------------------------------------

    def _current(self) -> ZoneView | None:
        """The copy with every change Redis has sent so far applied; None when not following."""
        view = self.copy()
        if view is None and self._socket_fd is not None:  # following, but behind: catch up
            with self._lock:
                try:
                    self._apply_messages()
                except _FOLLOW_ERRORS as exc:
                    self._lose(exc)
                view = self._view
        return view

    def _maybe_behind(self, socket_fd: int) -> bool:
        """Whether a message may wait unread: bytes arrived since the last drain, else a readable socket.

        The TCP count is read with getsockopt, which keeps the GIL; poll(2) gives it up, and under
        load a request thread then waits its turn to take it back (one poll per read cost the
        /zones routes about 5 % of their throughput, bench/ http).
        """
        sock, drained_at = self._sock, self._drained_at
        if sock is not None and drained_at is not None:
            arrived = tcp_bytes_received(sock)
            if arrived is not None:
                return arrived != drained_at
        return _readable(socket_fd)  # not TCP, or the connection is closing: the kernel says

    # Every method below runs with the lock held.

    def _apply_messages(self) -> bool:
        """Re-read each zone a waiting message names; True when one asked to re-read everything."""
        pubsub, view = self._pubsub, self._view
        if pubsub is None or pubsub.connection is None or view is None:
            raise SubscriptionLost("not subscribed")
        named: set[str] = set()
        everything = False
        # Counted before reading: whatever arrives from here on makes the next read look again.
        self._drained_at = _bytes_received(self._sock)
        # can_read also sees what redis-py has buffered; a health-check reply reads as None.
        while pubsub.connection.can_read(0):
            message = pubsub.get_message(ignore_subscribe_messages=True, timeout=_MESSAGE_READ_SECONDS)
            if message is None or message.get("type") != "message":
                continue
            zone_id = zone_named(message.get("data"))
            if zone_id is None:
                everything = True
            else:
                named.add(zone_id)
        if everything:
            self._resync()
        elif named:
            self._view = view.updated(self._repository.read(named), named)
            self._changed()
        return everything

    def _resync(self) -> None:
        view = self._repository.read()
        last = self._last_known
        if last is not None and not view.zones and self._repository.empty():
            # Redis came back empty: what it says is nothing yet. The changes the poller writes
            # again are applied onto the zones last known, and every tick reads afresh until then.
            view = last
            self._serve_last_known("Redis came back empty")
            self._resync_due = time.monotonic()
        else:
            self._forget_last_known()
            self._resync_due = time.monotonic() + self._resync_seconds
        changed, self._view = view is not self._view, view
        if changed:
            self._changed()

    def _changed(self) -> None:
        for callback in self._listeners:
            callback()

    def _subscribe(self) -> None:
        """Subscribe, wait for the confirmation, then read every zone."""
        self._pubsub = pubsub = self._subscriber.pubsub()  # type: ignore[no-untyped-call]
        pubsub.subscribe(self._channel)
        # Only a confirmed subscription is sure to see every later change: read the zones after it.
        deadline = time.monotonic() + self._confirm_timeout_seconds
        while True:
            remaining_seconds = deadline - time.monotonic()
            if remaining_seconds <= 0:
                raise SubscriptionLost("SUBSCRIBE was not confirmed in time")
            message = pubsub.get_message(timeout=remaining_seconds)
            if message is not None and message.get("type") == "subscribe":
                break
        # redis-py has no public handle on the socket; without one there is no copy, only Redis.
        sock = getattr(pubsub.connection, "_sock", None)
        if sock is None:
            raise SubscriptionLost("the subscription has no socket to watch")
        drained_at = _bytes_received(sock)
        # Whatever else arrived with the confirmation is older than the read below: discard it,
        # so that redis-py buffers nothing and an empty socket means there is nothing to apply.
        while pubsub.connection is not None and pubsub.connection.can_read(0):
            pubsub.get_message(timeout=_MESSAGE_READ_SECONDS)
        self._resync()
        self._sock, self._drained_at = sock, drained_at
        self._socket_fd = sock.fileno()
        self._on_following(True)

    def _drop(self) -> None:
        """Forget the copy and the subscription."""
        if self._socket_fd is not None:
            self._on_following(False)
            self._changed()  # reads go to Redis now, which may know of a change the copy missed
        self._socket_fd = None
        self._sock = self._drained_at = None
        if self._view is not None:
            self._last_known = self._view
        self._view = None
        pubsub, self._pubsub = self._pubsub, None
        if pubsub is not None:
            try:
                pubsub.close()
            except (redis.RedisError, OSError) as exc:
                log.debug("zone cache: closing the subscription: %s", exc)

    def _lose(self, exc: Exception) -> None:
        """Fall back to reading Redis per request until the thread has subscribed again."""
        if not self._lost:
            self._lost = True
            log.warning(
                "zone cache: not following %s (%s: %s); reading Redis on every request until it is back",
                self._channel,
                type(exc).__name__,
                exc,
            )
        self._drop()

    def _tick(self) -> bool:
        """Subscribe when not following, else apply messages and resync when due; False on failure."""
        try:
            if self._view is None:
                self._subscribe()
                if self._lost:
                    self._lost = False
                    log.info("zone cache: following %s again", self._channel)
            elif not self._apply_messages():
                if time.monotonic() >= self._resync_due:
                    self._resync()
                elif self._pubsub is not None:
                    self._pubsub.check_health()  # the PING that is due, if any; the reply comes later
        except _FOLLOW_ERRORS as exc:
            self._lose(exc)
            return False
        return True

    # --- the background thread -------------------------------------------------------------------

    def _follow(self) -> None:
        retry_seconds = _RETRY_MIN_SECONDS
        while not self._stop.is_set():
            with self._lock:
                healthy = self._tick()
            if healthy:
                wait_seconds, retry_seconds = self._catch_up_seconds, _RETRY_MIN_SECONDS
            else:
                wait_seconds, retry_seconds = retry_seconds, min(retry_seconds * 2, _RETRY_MAX_SECONDS)
            socket_fd = self._socket_fd
            if socket_fd is None:
                self._stop.wait(wait_seconds)
            else:
                # Wake as a message arrives, so that held requests (`?wait=`) hear of it at once,
                # and at once on close.
                poller = select.poll()
                poller.register(socket_fd, select.POLLIN)
                poller.register(self._wake_read_fd, select.POLLIN)
                poller.poll(wait_seconds * 1000)


# struct tcp_info (linux/tcp.h): tcpi_state is its first byte, tcpi_bytes_received (Linux 4.1 and
# later) the unsigned 64-bit count at byte 128.
_TCP_INFO_BYTES = 136
_TCP_ESTABLISHED = 1


def tcp_bytes_received(sock: socket.socket) -> int | None:
    """How many bytes an established TCP connection has received so far; None for any other socket."""
    try:
        info = sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, _TCP_INFO_BYTES)
    except (OSError, AttributeError):  # not TCP; TCP_INFO is Linux's
        return None
    if len(info) < _TCP_INFO_BYTES or info[0] != _TCP_ESTABLISHED:
        return None  # an older kernel, or a connection the peer closed: poll(2) tells that
    return int.from_bytes(info[128:_TCP_INFO_BYTES], sys.byteorder)


def _bytes_received(sock: socket.socket | None) -> int | None:
    return None if sock is None else tcp_bytes_received(sock)


def _readable(fd: int) -> bool:
    """Whether a read on fd would not block: data, end of file or an error."""
    # A poll object per call: one object must not be polled by two request threads at once.
    poller = select.poll()
    poller.register(fd, select.POLLIN)
    return bool(poller.poll(0))


# Redis errors, the repository's conversion of them, and a subscription that is gone.
_FOLLOW_ERRORS = (redis.RedisError, NowPlayingUnavailable, SubscriptionLost)
