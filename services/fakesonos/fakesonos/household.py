"""The thread-safe household model: speakers, what they play, how they are grouped, faults and events."""

from __future__ import annotations

import dataclasses
import logging
import threading
import time
import uuid
from collections import Counter, OrderedDict
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from types import TracebackType
from typing import Protocol

from contract.zone import TransportState
from fakesonos import upnp
from fakesonos.cdn import ArtServer
from fakesonos.events import Notification, Notifier, Subscription, event_body, new_sid
from fakesonos.faults import SpeakerFault, TransitionNotAvailableError
from fakesonos.model import (
    SONOS_PORT,
    Bond,
    GroupView,
    PlaybackView,
    SpeakerInfo,
    Topology,
    Track,
    art_token,
    uid_for,
)
from fakesonos.speaker_server import SpeakerServer

logger = logging.getLogger(__name__)

MAX_REMEMBERED_ARTWORK = 64  # art stays fetchable for a while after the track changes, as on a real speaker
DEFAULT_REBOOT_SECONDS = 5.0
STOP_THREADS = 32


class QueueEntry(Protocol):
    """A track of the household's queue, built only when it is played (a scenario's TrackSpec)."""

    @property
    def title(self) -> str: ...

    def track(self) -> Track: ...


class UnknownSpeakerError(LookupError):
    """No speaker matches the given ip, uid or zone id."""


def new_household_id() -> str:
    """A fresh `Sonos_<26 chars>` id; unique ids keep soco's per-household caches apart."""
    return "Sonos_" + uuid.uuid4().hex[:26]


class FakeSpeaker:
    """One emulated speaker; all state lives under the household's lock."""

    def __init__(self, household: Household, info: SpeakerInfo) -> None:
        self._household = household
        self.info = info
        self.change_count = 0  # bumped on every change a subscriber would be told about
        self._actions_served: Counter[str] = Counter()  # SOAP actions answered, by name
        self._coordinator_uid = info.uid
        self._track: Track | None = None
        self._state = TransportState.STOPPED
        self._position_offset_seconds = 0.0
        self._playing_since_monotonic = 0.0
        self._fault: SpeakerFault | None = None
        self._boot_seq = upnp.DEFAULT_BOOT_SEQ
        self._reboot_generation = 0
        self._rebooting = False
        self._subscriptions: dict[str, Subscription] = {}
        self._server = SpeakerServer(household, self)
        self._server_lock = threading.Lock()  # serialises starting and stopping the listener

    def __repr__(self) -> str:
        return f"FakeSpeaker({self.info.ip}:{self.info.port}, {self.info.room!r})"

    @property
    def ip(self) -> str:
        """IPv4 address the speaker listens on."""
        return self.info.ip

    @property
    def port(self) -> int:
        """TCP port the speaker listens on."""
        return self.info.port

    @property
    def room(self) -> str:
        """Room (zone) name."""
        return self.info.room

    @property
    def uid(self) -> str:
        """`RINCON_...` uid."""
        return self.info.uid

    @property
    def zone_id(self) -> str:
        """The project's zone id (slug of the room name)."""
        return self.info.zone_id

    @property
    def base_url(self) -> str:
        """`http://ip:port`."""
        return self.info.base_url

    @property
    def fault(self) -> SpeakerFault | None:
        """The speaker fault switched on, if any."""
        with self._household.lock:
            return self._fault

    @property
    def boot_seq(self) -> int:
        """BootSeq as the topology reports it; each reboot adds one."""
        with self._household.lock:
            return self._boot_seq

    @property
    def is_rebooting(self) -> bool:
        """True between `reboot()` and the speaker coming back."""
        with self._household.lock:
            return self._rebooting

    @property
    def answers_discovery(self) -> bool:
        """True when the speaker is up and would answer an SSDP search."""
        with self._household.lock:
            return self._household.is_serving and self._reachable()

    @property
    def subscriptions(self) -> tuple[Subscription, ...]:
        """Copies of the live event subscriptions on this speaker."""
        with self._household.lock:
            self._expire_subscriptions()
            return tuple(dataclasses.replace(s) for s in self._subscriptions.values())

    def set_track(self, track: Track | None, state: TransportState = TransportState.PLAYING) -> None:
        """Play a track from the start (None empties the queue); a member acts on its coordinator."""
        household = self._household
        with household.lock:
            target = household.coordinator_of(self)
            if track is not None:
                track = track.on_speaker(target.uid)
                if track.has_art:
                    household.remember_art(track)
            target._track = track
            target._position_offset_seconds = 0.0
            target._playing_since_monotonic = time.monotonic()
            target._state = state if track is not None else TransportState.STOPPED
            household.changed(target)
            household.flush_events()
            logger.info(
                "%s: %s %s %r by %r",
                target.room,
                target._state.value,
                "" if track is None else track.source.value,
                "" if track is None else track.title,
                "" if track is None else track.artist,
            )

    def play(self) -> None:
        """Play what is loaded (soco's `play`); 701 when nothing is."""
        self._transport_by_hand(TransportState.PLAYING)

    def pause(self) -> None:
        """Pause, keeping the track and position (soco's `pause`); 701 when nothing is loaded."""
        self._transport_by_hand(TransportState.PAUSED_PLAYBACK)

    def stop_playback(self) -> None:
        """Stop, keeping the track (soco's `stop`); 701 when nothing is loaded."""
        self._transport_by_hand(TransportState.STOPPED)

    def skip(self, steps: int) -> None:
        """Play the queue's next (1) or previous (-1) track (soco's `next`/`previous`); 701 with no queue."""
        household = self._household
        with household.lock:
            queue = household.queue
            if not queue:
                raise TransitionNotAvailableError("nothing is queued")
            target = household.coordinator_of(self)
            title = target._track.title if target._track is not None else None
            at = next((i for i, entry in enumerate(queue) if entry.title == title), None)
            index = (0 if steps > 0 else -1) if at is None else (at + steps) % len(queue)
            household.mark_changed_by_hand(target)
            self.set_track(queue[index].track())

    def seek(self, position_seconds: int) -> None:
        """Jump within the track (soco's `seek`), telling subscribers; 701 when nothing is loaded."""
        household = self._household
        with household.lock:
            target = household.coordinator_of(self)
            track = target._track
            if track is None:
                raise TransitionNotAvailableError("nothing is loaded")
            if track.has_duration:
                position_seconds = min(position_seconds, track.duration_seconds)
            target._position_offset_seconds = float(max(position_seconds, 0))
            target._playing_since_monotonic = time.monotonic()
            household.mark_changed_by_hand(target)
            household.changed(target)
            household.flush_events()
            logger.info("%s: seek to %ss", target.room, position_seconds)

    def _transport_by_hand(self, state: TransportState) -> None:
        with self._household.lock:
            target = self._household.coordinator_of(self)
            if target._track is None:
                raise TransitionNotAvailableError("nothing is loaded")
            self._household.mark_changed_by_hand(target)
            self.set_state(state)

    def set_state(self, state: TransportState) -> None:
        """Change the transport state, keeping the track and position; a member acts on its coordinator."""
        with self._household.lock:
            target = self._household.coordinator_of(self)
            if state == target._state:
                return
            target._position_offset_seconds = target._position_seconds()
            target._playing_since_monotonic = time.monotonic()
            target._state = state
            self._household.changed(target)
            self._household.flush_events()
            logger.info("%s: %s", target.room, state.value)

    def set_fault(self, fault: SpeakerFault | None) -> None:
        """Switch a speaker fault on (or off with None); takes effect at once."""
        fault = None if fault is None else SpeakerFault(fault)
        with self._household.lock:
            self._fault = fault
            self._household.changes.notify_all()  # wakes requests held by HANG
        logger.info("%s: fault %s", self.room, fault.value if fault else "cleared")
        self.sync_server()

    def reboot(self, down_seconds: float = DEFAULT_REBOOT_SECONDS) -> None:
        """Go offline for down_seconds, forgetting every subscription, then come back with BootSeq + 1."""
        if down_seconds < 0:
            raise ValueError("down_seconds must not be negative")
        household = self._household
        with household.lock:
            self._reboot_generation += 1
            generation = self._reboot_generation
            self._rebooting = True
            self._subscriptions.clear()
            self._boot_seq += 1
            household.topology_changed()
            household.flush_events()
        logger.info("%s: rebooting for %.1f s", self.room, down_seconds)
        self.sync_server()
        threading.Thread(
            target=self._come_back,
            args=(generation, down_seconds),
            name=f"fakesonos-reboot-{self.ip}",
            daemon=True,
        ).start()

    def count_action(self, name: str) -> None:
        """Count one SOAP action answered (what a poller costs a speaker, for tests and the control API)."""
        with self._household.lock:
            self._actions_served[name] += 1

    def actions_served(self) -> dict[str, int]:
        """SOAP actions answered so far, by name."""
        with self._household.lock:
            return dict(self._actions_served)

    def view(self) -> PlaybackView:
        """What this speaker reports right now (a member reports its group's state, no track)."""
        with self._household.lock:
            return self._view()

    def wait_until_responsive(self, stopping: threading.Event) -> bool:
        """True unless HANG is on; else block until it clears or the server stops, then False."""
        changes = self._household.changes
        with changes:
            if self._fault is not SpeakerFault.HANG:
                return True
            changes.wait_for(lambda: self._fault is not SpeakerFault.HANG or stopping.is_set())
            return False

    # --- subscriptions (called by the speaker's HTTP handler) ---

    def subscribe(self, service: str, callback_url: str, timeout_seconds: int) -> Subscription:
        """Register a new subscription; the caller sends the initial event after replying."""
        household = self._household
        with household.lock:
            now = time.monotonic()
            subscription = Subscription(
                sid=new_sid(self.uid, household.next_sid_counter()),
                service=service,
                callback_url=callback_url,
                timeout_seconds=timeout_seconds,
                expires_monotonic=now + timeout_seconds,
            )
            self._subscriptions[subscription.sid] = subscription
            return dataclasses.replace(subscription)

    def renew(self, sid: str, timeout_seconds: int) -> Subscription | None:
        """Extend a live subscription; None for an unknown or expired SID (the caller answers 412)."""
        with self._household.lock:
            self._expire_subscriptions()
            subscription = self._subscriptions.get(sid)
            if subscription is None:
                return None
            subscription.timeout_seconds = timeout_seconds
            subscription.expires_monotonic = time.monotonic() + timeout_seconds
            return dataclasses.replace(subscription)

    def unsubscribe(self, sid: str) -> bool:
        """Forget a subscription; False when the SID is unknown or expired."""
        with self._household.lock:
            self._expire_subscriptions()
            return self._subscriptions.pop(sid, None) is not None

    def send_initial_event(self, sid: str) -> None:
        """Send SEQ 0 with the full state to a subscription made a moment ago."""
        with self._household.lock:
            subscription = self._subscriptions.get(sid)
            if subscription is not None and not subscription.initial_sent:
                subscription.initial_sent = True
                self._household.send_event(self, subscription, self._event_document(subscription.service))

    # --- internals, called with the household lock held ---

    def _view(self) -> PlaybackView:
        coordinator = self._household.coordinator_of(self)
        return PlaybackView(
            speaker=self.info,
            coordinator_uid=coordinator.uid,
            state=coordinator._state,
            track=coordinator._track,
            position_seconds=int(coordinator._position_seconds()),
            art_base_url=self._household.art_base_url,
        )

    def _event_document(self, service: str) -> str:
        if service == "AVTransport":
            return upnp.av_transport_event(self._view())
        if service == "ZoneGroupTopology":
            return upnp.zone_group_topology_event(self._household.topology(), self.info)
        return upnp.rendering_control_event()

    def _position_seconds(self) -> float:
        position = self._position_offset_seconds
        if self._state == TransportState.PLAYING:
            position += time.monotonic() - self._playing_since_monotonic
        if self._track is None:
            return 0.0
        return min(position, float(self._track.duration_seconds)) if self._track.has_duration else position

    def _expire_subscriptions(self) -> None:
        now = time.monotonic()
        for sid in [sid for sid, s in self._subscriptions.items() if not s.is_live(now)]:
            del self._subscriptions[sid]

    def _reachable(self) -> bool:
        return not self._rebooting and self._fault not in (SpeakerFault.OFFLINE, SpeakerFault.HANG)

    def _should_listen(self) -> bool:
        return self._household.is_serving and not self._rebooting and self._fault is not SpeakerFault.OFFLINE

    def sync_server(self) -> None:
        """Open or close the listening socket to match the household, fault and reboot state."""
        with self._server_lock:
            with self._household.lock:
                listen = self._should_listen()
            if listen and not self._server.running:
                self._server.start()
            elif not listen and self._server.running:
                self._server.stop()

    def _come_back(self, generation: int, down_seconds: float) -> None:
        household = self._household
        if household.stopping.wait(down_seconds):
            return
        with household.lock:
            if generation != self._reboot_generation:
                return  # rebooted again meanwhile; the later reboot brings it back
            self._rebooting = False
            # A rebooted speaker comes back stopped, keeping its queue and its group.
            if self._coordinator_uid == self.uid and self._state is not TransportState.STOPPED:
                self._position_offset_seconds = self._position_seconds()
                self._state = TransportState.STOPPED
                household.changed(self)
            household.topology_changed()
            household.flush_events()
        try:
            self.sync_server()
        except OSError:
            logger.exception("%s: cannot listen again after reboot", self.room)
        logger.info("%s: back after reboot, BootSeq %d", self.room, self.boot_seq)


class Household:
    """Speakers sharing one household id and topology; `start()` serves them over HTTP."""

    def __init__(
        self, household_id: str | None = None, *, art_address: tuple[str, int] | None = None
    ) -> None:
        self.household_id: str = household_id or new_household_id()
        self.lock = threading.RLock()
        self.changes = threading.Condition(self.lock)  # notified on every change, for waiters and HANG
        self.stopping = threading.Event()  # set by stop(); background waits end at once
        self.notifier = Notifier()
        self._speakers: dict[str, FakeSpeaker] = {}  # by uid, in insertion order
        self._topology_version = 1
        self._notified_topology_version = 1
        self._dirty: set[str] = set()  # uids whose AVTransport subscribers are owed an event
        self._art: OrderedDict[str, Track] = OrderedDict()  # art token -> track
        self._art_address = art_address
        self._art_server: ArtServer | None = None
        self._serving = False
        self._sid_counter = 0
        self._queue: tuple[QueueEntry, ...] = ()
        # coordinator uid -> monotonic time of its last change by hand
        self._by_hand_at: dict[str, float] = {}

    def add_speaker(
        self,
        ip: str,
        room: str,
        *,
        port: int = SONOS_PORT,
        uid: str | None = None,
        bond: Bond | None = None,
    ) -> FakeSpeaker:
        """Add a standalone, stopped speaker; call before `start()`.

        With `bond`, the speaker joins the room's main speaker (added before it) as the second half of
        a stereo pair or as a home-theatre satellite: it plays what the room plays and is no room.
        """
        with self.lock:
            if self._serving:
                raise RuntimeError("add speakers before start()")
            uid = uid or uid_for(ip, port)
            main = self._main_speaker_of(room) if bond is not None else None
            if bond is not None and main is None:
                raise ValueError(f"a bonded speaker needs the main speaker of {room!r} added before it")
            info = SpeakerInfo(ip, port, room, uid, bond, main.uid if main is not None else "")
            for other in self._speakers.values():
                if (other.ip, other.port) == (ip, port):
                    raise ValueError(f"two speakers on {ip}:{port}")
                if other.uid == info.uid:
                    raise ValueError(f"two speakers with uid {info.uid}")
                if bond is None and other.info.bond is None and other.zone_id == info.zone_id:
                    raise ValueError(
                        f"rooms {other.room!r} and {room!r} have the same zone id {info.zone_id!r}"
                    )
            speaker = FakeSpeaker(self, info)
            self._speakers[info.uid] = speaker
            self.topology_changed()
            return speaker

    def _main_speaker_of(self, room: str) -> FakeSpeaker | None:
        return next((s for s in self._speakers.values() if s.room == room and s.info.bond is None), None)

    @property
    def speakers(self) -> tuple[FakeSpeaker, ...]:
        """All speakers, in the order they were added."""
        with self.lock:
            return tuple(self._speakers.values())

    @property
    def is_serving(self) -> bool:
        """True between `start()` and `stop()`."""
        with self.lock:
            return self._serving

    @property
    def art_base_url(self) -> str:
        """`http://host:port` of the art server that serves streaming tracks' art ("" before start)."""
        server = self._art_server
        if server is None or not server.running:
            return ""
        host, port = server.address
        return f"http://{host}:{port}"

    def speaker(self, ref: FakeSpeaker | str) -> FakeSpeaker:
        """Find a speaker by object, uid, ip, `ip:port`, or a room's zone id or name (its main speaker)."""
        if isinstance(ref, FakeSpeaker):
            return ref
        with self.lock:
            for speaker in self._speakers.values():
                if ref in (speaker.uid, speaker.ip, f"{speaker.ip}:{speaker.port}") or (
                    speaker.info.bond is None and ref in (speaker.zone_id, speaker.room)
                ):
                    return speaker
        raise UnknownSpeakerError(f"no speaker {ref!r}")

    def coordinator_of(self, ref: FakeSpeaker | str) -> FakeSpeaker:
        """The coordinator of the speaker's group (itself when standalone)."""
        with self.lock:
            speaker = self.speaker(ref)
            if speaker.info.bond is not None:
                speaker = self._speakers[speaker.info.bonded_to]  # a bonded speaker follows its room
            return self._speakers[speaker._coordinator_uid]

    def group(self, coordinator: FakeSpeaker | str, members: Iterable[FakeSpeaker | str]) -> None:
        """Make members join coordinator's group; a member's own former members become standalone."""
        with self.lock:
            leader = self.speaker(coordinator)
            joining = [self.speaker(ref) for ref in members]
            if any(s.info.bond is not None for s in (leader, *joining)):
                raise ValueError("a bonded speaker is grouped with its room, never on its own")
            if leader in joining:
                raise ValueError(f"{leader.room!r} cannot be a member of its own group")
            self._detach(leader)
            for member in joining:
                self._detach(member)
                for follower in self._followers(member):
                    self._make_standalone(follower)
                member._coordinator_uid = leader.uid
                self.changed(member)
            self.topology_changed()
            self.changed(leader)
            self.flush_events()
            logger.info("grouped %s under %s", [m.room for m in joining], leader.room)

    def ungroup(self, ref: FakeSpeaker | str) -> None:
        """A member leaves its group stopped; a coordinator dissolves its whole group."""
        with self.lock:
            speaker = self.speaker(ref)
            if speaker.info.bond is not None:
                raise ValueError("a bonded speaker leaves a group with its room, never on its own")
            for follower in self._followers(speaker):
                self._make_standalone(follower)
            if speaker._coordinator_uid != speaker.uid:
                self._make_standalone(speaker)
            self.topology_changed()
            self.changed(speaker)
            self.flush_events()

    def topology(self) -> Topology:
        """Snapshot of the groups for GetZoneGroupState."""
        with self.lock:
            groups = []
            for speaker in self._speakers.values():
                if speaker._coordinator_uid == speaker.uid and speaker.info.bond is None:
                    rooms = (speaker, *self._followers(speaker))
                    members = tuple(s.info for room in rooms for s in (room, *self._bonded(room)))
                    groups.append(GroupView(coordinator=speaker.info, members=members))
            boot_seqs = {s.uid: s._boot_seq for s in self._speakers.values()}
            return Topology(self.household_id, tuple(groups), self._topology_version, boot_seqs)

    @property
    def queue(self) -> tuple[QueueEntry, ...]:
        """What Next and Previous step through (the scenario's playlist), shared by every zone."""
        with self.lock:
            return self._queue

    def set_queue(self, entries: Sequence[QueueEntry]) -> None:
        """Give Next and Previous a queue to step through."""
        with self.lock:
            self._queue = tuple(entries)

    def mark_changed_by_hand(self, ref: FakeSpeaker | str) -> None:
        """Note that someone (the control API, a Sonos app's command) changed this zone just now."""
        with self.lock:
            self._by_hand_at[self.coordinator_of(ref).uid] = time.monotonic()

    def changed_by_hand_within(self, ref: FakeSpeaker | str, seconds: float) -> bool:
        """Whether the zone was changed by hand in the last `seconds` (a scripted demo leaves it alone)."""
        with self.lock:
            changed_at = self._by_hand_at.get(self.coordinator_of(ref).uid)
        return changed_at is not None and time.monotonic() - changed_at < seconds

    def remember_art(self, track: Track) -> None:
        """Keep a track's album art fetchable by its uri (and by its art-server token)."""
        token = art_token(track.uri)
        with self.lock:
            self._art[token] = track
            self._art.move_to_end(token)
            while len(self._art) > MAX_REMEMBERED_ARTWORK:
                self._art.popitem(last=False)

    def art_for_uri(self, uri: str) -> Track | None:
        """The track played recently under this uri, whose art `/getaa?u=<uri>` serves."""
        return self.art_for_token(art_token(uri))

    def art_for_token(self, token: str) -> Track | None:
        """The track whose art the art server serves under this token."""
        with self.lock:
            return self._art.get(token)

    def changed(self, speaker: FakeSpeaker) -> None:
        """Record a change on one speaker (its subscribers get an event at the next flush)."""
        with self.lock:
            speaker.change_count += 1
            self._dirty.add(speaker.uid)
            self.changes.notify_all()

    def topology_changed(self) -> None:
        """Record a topology change (every speaker's topology subscribers get an event at the next flush)."""
        with self.lock:
            self._topology_version += 1
            self.changes.notify_all()

    def flush_events(self) -> None:
        """Send one event to each subscriber whose view changed since the last flush."""
        with self.lock:
            dirty, self._dirty = self._dirty, set()
            affected: dict[str, FakeSpeaker] = {}
            for uid in dirty:
                speaker = self._speakers[uid]
                for each in (speaker, *self._followers(speaker)):
                    for one in (each, *self._bonded(each)):
                        affected[one.uid] = one
            for speaker in affected.values():
                self._publish(speaker, "AVTransport")
            if self._topology_version != self._notified_topology_version:
                self._notified_topology_version = self._topology_version
                for speaker in self._speakers.values():
                    self._publish(speaker, "ZoneGroupTopology")

    def send_event(self, speaker: FakeSpeaker, subscription: Subscription, document: str) -> None:
        """Queue one NOTIFY with the subscription's next SEQ (dropped while the speaker is unreachable)."""
        with self.lock:
            seq = subscription.take_seq()
            if speaker._reachable() and speaker._fault is not SpeakerFault.EVENTS_LOST:
                self.notifier.send(
                    Notification(subscription.sid, seq, subscription.callback_url, event_body(document))
                )

    def next_sid_counter(self) -> int:
        """A household-wide counter for subscription ids."""
        with self.lock:
            self._sid_counter += 1
            return self._sid_counter

    def start(self) -> Household:
        """Serve every speaker on its address; stops what started if one address cannot be bound."""
        with self.lock:
            if self._serving:
                return self
            self._serving = True
            self.stopping.clear()
        try:
            self.notifier.start()
            for speaker in self.speakers:
                speaker.sync_server()
            # The art server shares the first speaker's address, which the clients can already reach.
            first_ip = next(iter(self._speakers.values())).ip if self._speakers else "127.0.0.1"
            self._art_server = ArtServer(self, self._art_address or (first_ip, 0))
            self._art_server.start()
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        """Stop serving and drop every open connection, like speakers being unplugged."""
        with self.lock:
            was_serving, self._serving = self._serving, False
            self.stopping.set()
            self.changes.notify_all()
        # Each listener takes up to a poll interval to stop; stop them side by side for big households.
        with ThreadPoolExecutor(max_workers=STOP_THREADS, thread_name_prefix="fakesonos-stop") as pool:
            list(pool.map(FakeSpeaker.sync_server, self.speakers))
        if self._art_server is not None:
            self._art_server.stop()
        if was_serving:
            self.notifier.stop()

    def __enter__(self) -> Household:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def _publish(self, speaker: FakeSpeaker, service: str) -> None:
        speaker._expire_subscriptions()
        subscribers = [s for s in speaker._subscriptions.values() if s.service == service and s.initial_sent]
        if not subscribers:
            return  # building the document is the costly part; skip it when nobody listens
        document = speaker._event_document(service)
        for subscription in subscribers:
            self.send_event(speaker, subscription, document)

    def _followers(self, speaker: FakeSpeaker) -> list[FakeSpeaker]:
        """The other rooms' main speakers in this speaker's group (bonded ones follow their room)."""
        return [
            s
            for s in self._speakers.values()
            if s._coordinator_uid == speaker.uid and s is not speaker and s.info.bond is None
        ]

    def _bonded(self, speaker: FakeSpeaker) -> list[FakeSpeaker]:
        return [s for s in self._speakers.values() if s.info.bonded_to == speaker.uid]

    def _detach(self, speaker: FakeSpeaker) -> None:
        if speaker._coordinator_uid != speaker.uid:
            self._make_standalone(speaker)

    def _make_standalone(self, speaker: FakeSpeaker) -> None:
        # A speaker leaving a group stops, keeping whatever it played before it joined.
        speaker._coordinator_uid = speaker.uid
        speaker._position_offset_seconds = speaker._position_seconds()
        speaker._state = TransportState.STOPPED
        self.changed(speaker)
