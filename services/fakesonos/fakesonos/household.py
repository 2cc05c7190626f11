"""The thread-safe household model: speakers, what they play, and how they are grouped."""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Iterable
from types import TracebackType

from contract.zone import TransportState
from fakesonos.model import (
    SONOS_PORT,
    Cover,
    GroupView,
    PlaybackView,
    SpeakerInfo,
    Topology,
    Track,
    uid_for,
)
from fakesonos.speaker_server import SpeakerServer

logger = logging.getLogger(__name__)

MAX_REMEMBERED_COVERS = 64  # covers stay fetchable for a while after the track changes, as on a real speaker


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
        self._coordinator_uid = info.uid
        self._track: Track | None = None
        self._state = TransportState.STOPPED
        self._position_offset_seconds = 0.0
        self._playing_since_monotonic = 0.0

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

    def set_track(self, track: Track | None, state: TransportState = TransportState.PLAYING) -> None:
        """Play a track from the start (None empties the queue); a member acts on its coordinator."""
        with self._household.lock:
            target = self._household.coordinator_of(self)
            target._track = track
            if track is not None and track.cover is not None:
                self._household.remember_cover(track.uri, track.cover)
            target._position_offset_seconds = 0.0
            target._playing_since_monotonic = time.monotonic()
            target._state = state if track is not None else TransportState.STOPPED
            self._household.changed(target)
            logger.info(
                "%s: %s %r by %r",
                target.room,
                target._state.value,
                "" if track is None else track.title,
                "" if track is None else track.artist,
            )

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
            logger.info("%s: %s", target.room, state.value)

    def view(self) -> PlaybackView:
        """What this speaker reports right now (a member reports its group's state, no track)."""
        with self._household.lock:
            coordinator = self._household.coordinator_of(self)
            return PlaybackView(
                speaker=self.info,
                coordinator_uid=coordinator.uid,
                state=coordinator._state,
                track=coordinator._track,
                position_seconds=int(coordinator._position_seconds()),
            )

    def _position_seconds(self) -> float:
        position = self._position_offset_seconds
        if self._state == TransportState.PLAYING:
            position += time.monotonic() - self._playing_since_monotonic
        limit = self._track.duration_seconds if self._track is not None else 0
        return min(position, float(limit))


class Household:
    """Speakers sharing one household id and topology; `start()` serves them over HTTP."""

    def __init__(self, household_id: str | None = None) -> None:
        self.household_id: str = household_id or new_household_id()
        self.lock = threading.RLock()
        self.changes = threading.Condition(self.lock)  # notified on every change, for waiters and events
        self._speakers: dict[str, FakeSpeaker] = {}  # by uid, in insertion order
        self._topology_version = 1
        self._covers: OrderedDict[str, Cover] = OrderedDict()
        self._servers: list[SpeakerServer] = []

    def add_speaker(
        self, ip: str, room: str, *, port: int = SONOS_PORT, uid: str | None = None
    ) -> FakeSpeaker:
        """Add a standalone, stopped speaker; call before `start()`."""
        with self.lock:
            if self._servers:
                raise RuntimeError("add speakers before start()")
            info = SpeakerInfo(ip=ip, port=port, room=room, uid=uid or uid_for(ip, port))
            for other in self._speakers.values():
                if (other.ip, other.port) == (ip, port):
                    raise ValueError(f"two speakers on {ip}:{port}")
                if other.uid == info.uid:
                    raise ValueError(f"two speakers with uid {info.uid}")
                if other.zone_id == info.zone_id:
                    raise ValueError(
                        f"rooms {other.room!r} and {room!r} have the same zone id {info.zone_id!r}"
                    )
            speaker = FakeSpeaker(self, info)
            self._speakers[info.uid] = speaker
            self._topology_version += 1
            return speaker

    @property
    def speakers(self) -> tuple[FakeSpeaker, ...]:
        """All speakers, in the order they were added."""
        with self.lock:
            return tuple(self._speakers.values())

    def speaker(self, ref: FakeSpeaker | str) -> FakeSpeaker:
        """Find a speaker by object, uid, ip, `ip:port`, zone id or room name."""
        if isinstance(ref, FakeSpeaker):
            return ref
        with self.lock:
            for speaker in self._speakers.values():
                if ref in (
                    speaker.uid,
                    speaker.ip,
                    f"{speaker.ip}:{speaker.port}",
                    speaker.zone_id,
                    speaker.room,
                ):
                    return speaker
        raise UnknownSpeakerError(f"no speaker {ref!r}")

    def coordinator_of(self, ref: FakeSpeaker | str) -> FakeSpeaker:
        """The coordinator of the speaker's group (itself when standalone)."""
        with self.lock:
            return self._speakers[self.speaker(ref)._coordinator_uid]

    def group(self, coordinator: FakeSpeaker | str, members: Iterable[FakeSpeaker | str]) -> None:
        """Make members join coordinator's group; a member's own former members become standalone."""
        with self.lock:
            leader = self.speaker(coordinator)
            joining = [self.speaker(ref) for ref in members]
            if leader in joining:
                raise ValueError(f"{leader.room!r} cannot be a member of its own group")
            self._detach(leader)
            for member in joining:
                self._detach(member)
                for follower in self._followers(member):
                    self._make_standalone(follower)
                member._coordinator_uid = leader.uid
                self.changed(member)
            self._topology_version += 1
            self.changed(leader)
            logger.info("grouped %s under %s", [m.room for m in joining], leader.room)

    def ungroup(self, ref: FakeSpeaker | str) -> None:
        """A member leaves its group stopped; a coordinator dissolves its whole group."""
        with self.lock:
            speaker = self.speaker(ref)
            for follower in self._followers(speaker):
                self._make_standalone(follower)
            if speaker._coordinator_uid != speaker.uid:
                self._make_standalone(speaker)
            self._topology_version += 1
            self.changed(speaker)

    def topology(self) -> Topology:
        """Snapshot of the groups for GetZoneGroupState."""
        with self.lock:
            groups = []
            for speaker in self._speakers.values():
                if speaker._coordinator_uid == speaker.uid:
                    members = (speaker.info, *(f.info for f in self._followers(speaker)))
                    groups.append(GroupView(coordinator=speaker.info, members=members))
            return Topology(self.household_id, tuple(groups), self._topology_version)

    def remember_cover(self, uri: str, cover: Cover) -> None:
        """Keep a track's cover fetchable by its uri."""
        with self.lock:
            self._covers[uri] = cover
            self._covers.move_to_end(uri)
            while len(self._covers) > MAX_REMEMBERED_COVERS:
                self._covers.popitem(last=False)

    def cover_for_uri(self, uri: str) -> Cover | None:
        """The cover of a track played recently in this household, if any."""
        with self.lock:
            return self._covers.get(uri)

    def changed(self, speaker: FakeSpeaker) -> None:
        """Record a change on one speaker and wake anyone waiting for changes."""
        with self.lock:
            speaker.change_count += 1
            self.changes.notify_all()

    def start(self) -> Household:
        """Serve every speaker on its address; stops what started if one address cannot be bound."""
        with self.lock:
            if self._servers:
                return self
            try:
                for speaker in self._speakers.values():
                    server = SpeakerServer(self, speaker.info)
                    self._servers.append(server)
                    server.start()
            except BaseException:
                self.stop()
                raise
            return self

    def stop(self) -> None:
        """Stop serving and drop every open connection, like speakers being unplugged."""
        with self.lock:
            servers, self._servers = self._servers, []
        for server in servers:
            server.stop()

    def __enter__(self) -> Household:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def _followers(self, speaker: FakeSpeaker) -> list[FakeSpeaker]:
        return [s for s in self._speakers.values() if s._coordinator_uid == speaker.uid and s is not speaker]

    def _detach(self, speaker: FakeSpeaker) -> None:
        if speaker._coordinator_uid != speaker.uid:
            self._make_standalone(speaker)

    def _make_standalone(self, speaker: FakeSpeaker) -> None:
        # A speaker leaving a group stops, keeping whatever it played before it joined.
        speaker._coordinator_uid = speaker.uid
        speaker._position_offset_seconds = speaker._position_seconds()
        speaker._state = TransportState.STOPPED
        self.changed(speaker)
