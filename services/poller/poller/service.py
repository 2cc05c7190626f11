"""The watch loop: wake (event or due poll) -> read -> decide -> render -> store -> publish.

One loop thread schedules; a fixed set of zone workers reads, renders and publishes, one job per
zone at a time, so a hung speaker or a slow cover holds up only its own zone. The lock `_lock`
guards what the workers share (pending states, counters, Redis status); `_files_lock` orders
a worker's reservation of renditions against the cache sweep.
"""

from __future__ import annotations

import logging
import os
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

from contract.profiles import QUALIA_SQUARE_PROFILE
from contract.zone import EventType, Member, ZoneState, default_zone_id
from poller.accent import Accent
from poller.config import Settings
from poller.errors import PublishError, SpeakerUnavailable, StorageError
from poller.events import Subscriptions, topology_change_from
from poller.housekeeping import SweepResult, sweep_due
from poller.load import LoadMonitor
from poller.nowplaying import NowPlaying, Snapshot, change_type, joined_another_group, now_playing, seeked
from poller.outbox import Outbox
from poller.pipeline import ArtPipeline, Renditions
from poller.publisher import RedisPublisher
from poller.qualia import QualiaMirror
from poller.sonos import Zone
from poller.workers import ZoneWorkers

log = logging.getLogger(__name__)

_EMPTY_RETRY_SECONDS = 5.0
_BUSY_RETRY_SECONDS = 0.1
_OVERLOAD_SLOWDOWN = 3  # poll this many times less often while overloaded
_MAX_DEFERRALS = 3  # a deferred track change is rendered anyway after this many passes
_RESUBSCRIBE_FIRST_SECONDS = 30.0
_FIRST_EVENT_SECONDS = 5.0  # a speaker sends its initial NOTIFY right after SUBSCRIBE
_RESUBSCRIBE_MAX_SECONDS = 300.0
# A subscribed zone is still read every this many poll intervals (30 s by default): a NOTIFY the
# network lost, or one sent while the speaker hung for a moment, is in no later event, and without
# this read the glass would keep the old track until the next change.
_VERIFY_POLLS = 15
_WAKE = object()  # queued to interrupt the wait


@dataclass
class Counters:
    """Totals reported in the heartbeat."""

    changes: int = 0
    art_failures: int = 0
    speaker_failures: int = 0
    publish_failures: int = 0
    storage_failures: int = 0
    deferred_renders: int = 0
    temp_files_removed: int = 0
    renditions_evicted: int = 0


@dataclass
class _Tracked:
    zone: Zone
    playing: NowPlaying | None = None
    published: ZoneState | None = None
    reserved: frozenset[str] = frozenset()  # renditions a job is about to publish: never evicted
    unavailable: bool = False
    deferrals: int = 0
    due_at: float = 0.0  # monotonic time of the next poll (or, with a live subscription, renewal)
    event_pending: bool = False  # a NOTIFY arrived (or the group changed): read the zone now
    read_at: float = 0.0  # monotonic time of the last read the speaker answered
    read_again: bool = False  # a render was put off: read at the next poll even while subscribed
    resubscribe_at: float = 0.0
    resubscribe_backoff_seconds: float = _RESUBSCRIBE_FIRST_SECONDS
    fallback_logged: bool = False


def next_version(previous: int, now_ms: int) -> int:
    """Monotonic across restarts of the poller and of Redis, as long as the clock is sane."""
    return max(previous + 1, now_ms)


def group_changed(published: ZoneState | None, zone: Zone) -> bool:
    """Whether the zone's name or members differ from what was published (no AVTransport event says so)."""
    return published is not None and (published.name, published.members) != (zone.name, zone.members)


@dataclass
class Poller:
    """Watches zones (events first, polling as the fallback) and publishes each change until `stop`."""

    find_zones: Callable[[], list[Zone]]
    read_snapshot: Callable[[Zone], Snapshot]
    pipeline: ArtPipeline
    publisher: RedisPublisher
    stop: threading.Event
    poll_interval_seconds: float
    discovery_interval_seconds: float
    heartbeat_file: Path
    housekeeping: Callable[[set[str]], SweepResult]
    housekeeping_interval_seconds: float = 60.0
    # Bytes of renditions written so far, and the cache's bound: a sweep runs early when they add up.
    written_bytes: Callable[[], int] = lambda: 0
    cache_max_bytes: int = 0
    load: LoadMonitor | None = None
    resource_check_interval_seconds: float = Settings.resource_check_interval_seconds
    subscriptions: Subscriptions | None = None  # None: polling only (SONOS_EVENTS=off)
    qualia: QualiaMirror | None = None
    default_zone: str = ""
    zone_workers: int = Settings.zone_workers
    # How the known speakers group now (None: only at discovery). Rooms group and ungroup all day,
    # and no AVTransport event tells of a room leaving a group: a topology event asks for this check
    # at once, and it runs every group_check_interval_seconds anyway (polling, or a NOTIFY lost).
    regroup: Callable[[list[Zone]], list[Zone]] | None = None
    group_check_interval_seconds: float = 5.0
    wakeups: queue.Queue[Any] = field(default_factory=queue.Queue)
    clock_ms: Callable[[], int] = lambda: time.time_ns() // 1_000_000
    counters: Counters = field(default_factory=Counters)
    last_error: str = ""
    _workers: ZoneWorkers = field(init=False)
    _lock: threading.RLock = field(default_factory=threading.RLock)
    _files_lock: threading.Lock = field(default_factory=threading.Lock)
    _qualia_lock: threading.Lock = field(default_factory=threading.Lock)
    _zones: dict[str, _Tracked] = field(default_factory=dict)
    _outbox: Outbox = field(init=False)
    _next_discovery: float = 0.0
    _next_group_check: float = 0.0
    _group_check_asked: bool = False  # by a topology event, since the last check
    _topology_sender: str = ""  # the address of the speaker whose event asked for it
    _next_housekeeping: float = 0.0
    _swept_at_bytes: int = 0
    _next_load_check: float = 0.0
    _last_tick: float = field(default_factory=time.monotonic)
    _started_at_ms: int = 0
    _stalled: threading.Event = field(default_factory=threading.Event)

    def __post_init__(self) -> None:
        self._workers = ZoneWorkers(self.zone_workers, on_done=self.wake)
        self._outbox = Outbox(self.publisher, on_failure=self._publish_failed)

    def run(self) -> None:
        """Watch until stopped, waking for due polls and for speaker events."""
        self._started_at_ms = self.clock_ms()
        self._beat()  # before anything is published, so a later missing key means lost data
        while not self.stop.is_set():
            if self._stalled.is_set():
                log.warning("loop stalled on request (SIGUSR1)")
                self.stop.wait()
                return
            self.tick()
            self._wait(self._seconds_until_due())

    def simulate_stall(self) -> None:
        """Make the loop hang until stopped, as a wedged process would (for testing the watchdog)."""
        self._stalled.set()
        self.wake()

    def wake(self) -> None:
        """Interrupt the wait (on shutdown, and when a zone job ends)."""
        self.wakeups.put(_WAKE)

    def drain(self, timeout_seconds: float) -> bool:
        """Wait until no zone job is queued or running (a rendition being written, a change published)."""
        return self._workers.wait_idle(timeout_seconds)

    def close(self) -> None:
        """Stop the zone workers and unsubscribe from every speaker."""
        self._workers.close()
        if self.subscriptions is not None:
            self.subscriptions.close()

    def overloaded(self) -> bool:
        """Whether the last load sample was over a threshold."""
        return self.load is not None and self.load.latest.overloaded

    def current_interval_seconds(self) -> float:
        """The polling interval, stretched while overloaded."""
        return self.poll_interval_seconds * (_OVERLOAD_SLOWDOWN if self.overloaded() else 1)

    def liveness_interval_seconds(self) -> float:
        """How often a live subscription is renewed and checked (catches reboots within two polls)."""
        return 2 * self.current_interval_seconds()

    def verify_interval_seconds(self) -> float:
        """How often a subscribed zone is read anyway, in case a NOTIFY was lost."""
        return _VERIFY_POLLS * self.current_interval_seconds()

    def seconds_since_tick(self) -> float:
        """How long since the loop last completed a pass, or a zone job started (read by the watchdog)."""
        return max(time.monotonic() - self._last_tick, self._workers.longest_running_seconds())

    def zone_modes(self) -> dict[str, str]:
        """`events` or `polling` for each zone."""
        subs = self.subscriptions
        return {z: "events" if subs is not None and subs.is_live(z) else "polling" for z in self._zones}

    def tick(self) -> None:
        """Do whatever is due (load sample, discovery), hand due zones to the workers, flush and beat."""
        if self._workers.failure is not None:
            raise self._workers.failure  # a bug in a zone job ends the loop, and so the process
        now = time.monotonic()
        if self.load is not None and now >= self._next_load_check:
            self._next_load_check = now + self.resource_check_interval_seconds
            self.load.sample()
        if now >= self._next_discovery:
            self._refresh_zones()
        elif now >= self._next_group_check:
            self._check_groups()
        for zone_id, tracked in list(self._zones.items()):
            if self.stop.is_set():
                return
            if tracked.event_pending or time.monotonic() >= tracked.due_at:
                # A zone already queued or running is read once more when its job ends (it stays due).
                self._workers.submit(zone_id, partial(self._service, tracked))
        with self._lock:
            self._flush()
        self._beat()
        written_since_bytes = self.written_bytes() - self._swept_at_bytes
        if sweep_due(time.monotonic(), self._next_housekeeping, written_since_bytes, self.cache_max_bytes):
            self._housekeep()
        self._last_tick = time.monotonic()

    def _seconds_until_due(self) -> float:
        idle = [t for z, t in self._zones.items() if not self._workers.busy(z)]
        if any(t.event_pending for t in idle):
            return 0.0
        due = [
            self._next_discovery,
            self._next_group_check,
            self._next_housekeeping,
            *(t.due_at for t in idle),
        ]
        if self.load is not None:
            due.append(self._next_load_check)
        # Wake at least once per poll interval, so the heartbeat and the watchdog stay fresh.
        return max(0.0, min(min(due) - time.monotonic(), self.current_interval_seconds()))

    def _wait(self, timeout_seconds: float) -> None:
        """Sleep until something is due or an event arrives; mark the zones events are for."""
        try:
            item = self.wakeups.get(timeout=timeout_seconds)
        except queue.Empty:
            return
        while True:
            sender = topology_change_from(item) if item is not _WAKE else None
            if sender is not None:
                # A room joined or left a group: ask how they group now, first the speaker that said so.
                self._next_group_check, self._group_check_asked = 0.0, True
                self._topology_sender = sender
            elif item is not _WAKE and self.subscriptions is not None:
                zone_id = self.subscriptions.zone_for(item)
                if zone_id in self._zones:
                    tracked = self._zones[zone_id]
                    tracked.event_pending = True
                    tracked.resubscribe_backoff_seconds = _RESUBSCRIBE_FIRST_SECONDS  # events work
            try:
                item = self.wakeups.get_nowait()
            except queue.Empty:
                return

    def _service(self, tracked: _Tracked) -> None:
        """Renew a live subscription, or read the zone; subscribe where events are wanted but missing.

        Runs on a zone worker, never for the same zone twice at once.
        """
        if self.stop.is_set():
            return  # queued before shutdown
        zone_id, subs = tracked.zone.zone_id, self.subscriptions
        if (
            subs is not None
            and subs.is_live(zone_id)
            and subs.unheard_seconds(zone_id) > _FIRST_EVENT_SECONDS
        ):
            # Subscribed, yet the speaker never reached our listener (NAT, firewall, wrong advertised IP).
            subs.drop(zone_id)
            self._fall_back(tracked, "no event arrived; check EVENT_ADVERTISE_IP and EVENT_LISTENER_PORT")
        verify_due = time.monotonic() - tracked.read_at >= self.verify_interval_seconds()
        if (
            subs is not None
            and subs.is_live(zone_id)
            and not (tracked.event_pending or tracked.read_again or verify_due)
        ):
            try:
                alive = subs.renew(tracked.zone)
            except SpeakerUnavailable as err:
                self._unavailable(tracked, err)
                tracked.due_at = time.monotonic() + self.current_interval_seconds()
                return
            if alive:
                tracked.due_at = time.monotonic() + self.liveness_interval_seconds()
                return
            log.warning(
                "zone %s: the speaker forgot our subscription (rebooted?); reading and resubscribing", zone_id
            )
            tracked.resubscribe_at = 0.0
        tracked.event_pending = False
        answered = self._poll(tracked)
        if (
            answered
            and subs is not None
            and not subs.is_live(zone_id)
            and time.monotonic() >= tracked.resubscribe_at
        ):
            self._subscribe(tracked, subs)
        live = subs is not None and subs.is_live(zone_id)
        if subs is not None and live and self._zones.get(zone_id) is not tracked:
            subs.drop(zone_id)  # the zone went away while this job subscribed
        polled = not live or tracked.read_again
        interval = self.current_interval_seconds() if polled else self.liveness_interval_seconds()
        tracked.due_at = time.monotonic() + interval

    def _subscribe(self, tracked: _Tracked, subs: Subscriptions) -> None:
        try:
            if subs.subscribe(tracked.zone):
                if tracked.fallback_logged:
                    log.info("zone %s: subscribed to events again", tracked.zone.zone_id)
                tracked.fallback_logged = False
                return
            reason = "the speaker refused the subscription"
        except SpeakerUnavailable as err:
            reason = str(err)
        self._fall_back(tracked, reason)

    def _fall_back(self, tracked: _Tracked, reason: str) -> None:
        """Poll this zone and try events again later, backing off; say so once per outage."""
        tracked.resubscribe_at = time.monotonic() + tracked.resubscribe_backoff_seconds
        tracked.resubscribe_backoff_seconds = min(
            2 * tracked.resubscribe_backoff_seconds, _RESUBSCRIBE_MAX_SECONDS
        )
        if not tracked.fallback_logged:
            tracked.fallback_logged = True
            log.warning(
                "zone %s: no events (%s); polling every %.1f s and retrying later",
                tracked.zone.zone_id, reason, self.poll_interval_seconds,
            )  # fmt: skip

    def referenced_images(self) -> set[str]:
        """Every rendition a zone shows (published or waiting for Redis) or is about to: never evicted."""
        with self._lock:
            tracked = list(self._zones.values())
        shown = {path for t in tracked if t.published for path in t.published.images.values()}
        return shown.union(*(t.reserved for t in tracked))

    def _reserve(self, tracked: _Tracked, relpaths: frozenset[str]) -> None:
        """Called by the pipeline before it looks for (or writes) these renditions."""
        with self._files_lock:
            tracked.reserved = relpaths

    def _housekeep(self) -> None:
        self._next_housekeeping = time.monotonic() + self.housekeeping_interval_seconds
        self._swept_at_bytes = self.written_bytes()
        # A job reserves before it checks what is stored, so it either sees this sweep's result or
        # had its renditions kept by it.
        with self._files_lock:
            result = self.housekeeping(self.referenced_images())
        with self._lock:
            self.counters.temp_files_removed += result.temp_files_removed
            self.counters.renditions_evicted += result.renditions_evicted

    def _refresh_zones(self) -> None:
        """Discovery: the configured seeds or SSDP, every DISCOVERY_INTERVAL_SECONDS."""
        self._next_discovery = time.monotonic() + self.discovery_interval_seconds
        found = self.find_zones()
        if not found:
            # Speakers may still be booting (or the network coming up): look again soon.
            self._next_discovery = time.monotonic() + min(
                self.discovery_interval_seconds, _EMPTY_RETRY_SECONDS
            )
            log.warning("no zone answered; keeping %d known zone(s), looking again shortly", len(self._zones))
            return
        self._track_zones(found)

    def _check_groups(self) -> None:
        """Ask the speakers already known how the household is grouped (one topology read, no SSDP)."""
        self._next_group_check = time.monotonic() + self.group_check_interval_seconds
        with self._lock:
            # Only speakers that answer and have no job running: one that hangs would hold up the
            # loop, where this runs, until it times out.
            zones = [
                t.zone for z, t in self._zones.items() if not t.unavailable and not self._workers.busy(z)
            ]
            busy = any(self._workers.busy(z) for z in self._zones)
        if self.regroup is None:
            return
        if not zones and busy and self._group_check_asked:
            # Each is busy being read (a regroup comes with an event of its own): the check a topology
            # event asked for runs as soon as one is free, not at the next interval.
            self._next_group_check = time.monotonic() + min(
                self.group_check_interval_seconds, _BUSY_RETRY_SECONDS
            )
            return
        self._group_check_asked = False
        if not zones:
            return
        # The speaker whose event asked for this check has just shown it answers; the others are
        # asked in turn only if it does not, and one that has just hung would hold up the loop.
        sender, self._topology_sender = self._topology_sender, ""
        zones.sort(key=lambda zone: zone.coordinator.ip_address != sender)
        found = self.regroup(zones)
        if found:
            self._track_zones(found)

    def _track_zones(self, zones: list[Zone]) -> None:
        """Follow the zones found: new ones are added, regrouped ones read again, vanished ones removed."""
        found = {zone.zone_id: zone for zone in zones}
        gone = set(self._zones) - set(found)
        with self._lock:
            for zone_id, zone in found.items():
                tracked = self._zones.get(zone_id)
                if tracked is None:
                    log.info("zone %s found (%s)", zone_id, ", ".join(m.name for m in zone.members))
                    self._zones[zone_id] = _Tracked(zone)
                    self._outbox.keep(zone_id)
                else:
                    tracked.zone = zone
                    if group_changed(tracked.published, zone):
                        tracked.event_pending = True  # read and republish it now
            for zone_id in gone:
                log.info("zone %s is gone", zone_id)
                del self._zones[zone_id]
                self._outbox.remove(zone_id)
        for zone_id in gone:
            if self.subscriptions is not None:
                self.subscriptions.drop(zone_id)

    def _poll(self, tracked: _Tracked) -> bool:
        """Read the zone and apply any change; False when the speaker did not answer."""
        zone = tracked.zone
        tracked.read_again = False
        try:
            snapshot = self.read_snapshot(zone)
        except SpeakerUnavailable as err:
            if self.subscriptions is not None:
                # The change this read was for is in no later event, and a renewal may well succeed
                # before a read does: poll until the speaker answers, then subscribe afresh.
                self.subscriptions.drop(zone.zone_id)
            self._unavailable(tracked, err)
            return False
        read_at_ms = self.clock_ms()
        tracked.read_at = time.monotonic()
        if tracked.unavailable:
            log.info("zone %s answers again", zone.zone_id)
            tracked.unavailable = False
        if joined_another_group(snapshot):
            # Its coordinator now plays another group's music: regroup at once, publish nothing.
            self._next_group_check = 0.0
            self.wake()
            return True
        playing = now_playing(snapshot)
        change = change_type(tracked.playing, playing)
        if change is None and (
            group_changed(tracked.published, zone) or self._seeked(tracked, playing, read_at_ms)
        ):
            change = EventType.STATE
        if change is None:
            return True
        if change is EventType.TRACK and self.overloaded() and tracked.deferrals < _MAX_DEFERRALS:
            tracked.deferrals += 1
            with self._lock:
                self.counters.deferred_renders += 1
            tracked.read_again = True  # at the next poll: no new event may come
            return True
        tracked.deferrals = 0
        self._apply(tracked, playing, change, read_at_ms)
        return True

    @staticmethod
    def _seeked(tracked: _Tracked, playing: NowPlaying, read_at_ms: int) -> bool:
        published = tracked.published
        return (
            tracked.playing is not None
            and published is not None
            and seeked(tracked.playing, published.position_at_ms, playing, read_at_ms)
        )

    def _unavailable(self, tracked: _Tracked, err: SpeakerUnavailable) -> None:
        if not tracked.unavailable:
            log.warning("zone %s unavailable: %s", tracked.zone.zone_id, err)
        tracked.unavailable = True
        tracked.resubscribe_at = 0.0  # once it answers again, subscribe at once
        with self._lock:
            self.counters.speaker_failures += 1
            self.last_error = str(err)
            # The speaker may have moved to another address: look for it again soon.
            self._next_discovery = min(self._next_discovery, time.monotonic() + self.poll_interval_seconds)

    def _apply(self, tracked: _Tracked, playing: NowPlaying, change: EventType, read_at_ms: int) -> None:
        zone = tracked.zone
        began = time.monotonic()
        previous = tracked.published
        if previous is not None and change is EventType.STATE:
            renditions = Renditions(
                dict(previous.images),
                previous.art_hash,
                accent=Accent(previous.accent, previous.accent_text, previous.accent_muted),
            )
        else:
            try:
                renditions = self.pipeline.renditions(playing, zone.base_url, partial(self._reserve, tracked))
            except StorageError as err:
                # Keep the last good state published and read again at the next poll (no event may come).
                tracked.read_again = True
                with self._lock:
                    self.counters.storage_failures += 1
                    self.last_error = str(err)
                log.error("zone %s: cannot store artwork, keeping the previous state: %s", zone.zone_id, err)
                return
        with self._lock:
            if self._zones.get(zone.zone_id) is not tracked:
                return  # the zone went away while its art was rendered
            self.counters.art_failures += renditions.art_failed
            state = ZoneState(
                zone_id=zone.zone_id,
                name=zone.name,
                coordinator_uid=zone.coordinator_uid,
                members=zone.members,
                state=playing.state,
                source=playing.source,
                title=playing.title,
                artist=playing.artist,
                album=playing.album,
                station=playing.station,
                duration=playing.duration,
                art_url=playing.art_url,
                art_hash=renditions.art_hash,
                accent=renditions.accent.accent,
                accent_text=renditions.accent.text,
                accent_muted=renditions.accent.muted,
                position_seconds=playing.position_seconds,
                duration_seconds=playing.duration_seconds,
                position_at_ms=read_at_ms,
                images=renditions.images,
                version=next_version(previous.version if previous else 0, self.clock_ms()),
                updated_at_ms=self.clock_ms(),
            )
            tracked.playing = playing
            tracked.published = state
            event = EventType.ZONE_ADDED if previous is None else change
            self._outbox.put(state, event)
            self.counters.changes += 1
            self._flush()
        self._mirror_default_zone()
        log.info(
            "zone %s %s: %r by %r (%s, %s) in %d ms",
            zone.zone_id, event.value, playing.title, playing.artist, playing.source.value,
            playing.state.value, (time.monotonic() - began) * 1000,
        )  # fmt: skip

    def _mirror_default_zone(self) -> None:
        if self.qualia is None:
            return
        # Looked up inside the mirror's lock: whichever worker copies last copies the latest image.
        with self._qualia_lock:
            with self._lock:
                # DEFAULT_ZONE may name a room: the mirror follows it into whatever group it is in.
                wanted = default_zone_id(self.default_zone, self._zones) or ""
                tracked = self._zones.get(self._outbox.zone_of_room(wanted))
                published = tracked.published if tracked is not None else None
            square = published.images.get(QUALIA_SQUARE_PROFILE) if published is not None else None
            if square:
                self.qualia.update(square)

    def _flush(self) -> None:
        """Write what is pending; the caller holds `_lock`, so states reach Redis in order."""
        self._outbox.flush(self._members())

    def _members(self) -> list[tuple[str, tuple[Member, ...]]]:
        return [(zone_id, tracked.zone.members) for zone_id, tracked in self._zones.items()]

    def _published(self) -> list[ZoneState]:
        return [t.published for t in self._zones.values() if t.published is not None]

    def _publish_failed(self, err: PublishError) -> None:
        self.counters.publish_failures += 1
        self.last_error = str(err)

    def _beat(self) -> None:
        try:
            self.heartbeat_file.touch()
        except OSError as err:
            log.warning("cannot touch heartbeat file %s: %s", self.heartbeat_file, err)
        modes = self.zone_modes()
        with self._lock:
            payload = {
                "pid": os.getpid(),
                "started_at": self._started_at_ms,
                "mode": "events" if modes and set(modes.values()) == {"events"} else "polling",
                "zones": modes,
                "counters": dict(vars(self.counters)),
                "overloaded": self.overloaded(),
                "load_samples": self.load.samples if self.load else 0,
                "last_error": self.last_error,
            }
            ttl_seconds = max(10, int(self.poll_interval_seconds * 5))
            self._outbox.heartbeat(payload, ttl_seconds, self._published, self._members)
