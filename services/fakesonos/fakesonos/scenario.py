"""Scenario files (TOML): a household, a playlist and a timeline of timed changes and faults."""

from __future__ import annotations

import ipaddress
import logging
import time
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from contract.errors import ConfigError
from contract.zone import TransportState
from fakesonos.background import BackgroundChanges
from fakesonos.covers import (
    DEFAULT_COVER_SIZE_PIXELS,
    MAX_COVER_SIZE_PIXELS,
    MIN_COVER_SIZE_PIXELS,
    generated_cover,
)
from fakesonos.faults import ArtFault, SpeakerFault, parse_enum_name
from fakesonos.household import Household, UnknownSpeakerError
from fakesonos.model import SONOS_PORT, Bond, Source, Track

logger = logging.getLogger(__name__)

DEFAULT_FIRST_IP = "127.0.0.2"
DEFAULT_INTERVAL_SECONDS = 8.0
ZONE_OFFSET_STEPS = 3  # zones start at different points of the playlist
# A zone changed by hand (control API, Play/Next from soco) is left alone by the playlist this long,
# so what someone set stays on the display long enough to look at.
HAND_HOLD_SECONDS = 120.0
ACTIONS = ("track", "empty", "state", "fault", "reboot", "group", "ungroup")
_TRACK_KEYS = {
    "title",
    "artist",
    "album",
    "duration_seconds",
    "source",
    "station",
    "stream_content",
    "uri",
    "art_fault",
    "cover",
    "cover_size",
}


@dataclass(frozen=True)
class SpeakerSpec:
    """One speaker: `ip[:port]=Room` on the command line, `[[speakers]]` in a scenario."""

    ip: str
    port: int
    room: str
    bond: Bond | None = None  # part of the room's stereo pair or home-theatre set (`bond = "sub"`)


@dataclass(frozen=True)
class TrackSpec:
    """A playlist entry; its Track (and generated cover) is built only when it is played."""

    title: str
    artist: str = ""
    album: str = ""
    duration_seconds: int = 210
    source: Source = Source.LIBRARY
    station: str = ""
    stream_content: str | None = None
    uri: str = ""
    art_fault: ArtFault | None = None
    cover: bool = True
    cover_size: int = DEFAULT_COVER_SIZE_PIXELS

    def track(self) -> Track:
        """The Track, with a cover generated from its names (cached by the cover generator)."""
        name = self.title or self.station or "Untitled"
        cover = generated_cover(name, self.artist, f"{self.artist}/{self.album or name}", self.cover_size)
        return Track(
            self.title,
            self.artist,
            self.album,
            self.duration_seconds,
            uri=self.uri,
            cover=cover if self.cover else None,
            source=self.source,
            station=self.station,
            stream_content=self.stream_content,
            art_fault=self.art_fault,
        )


@dataclass(frozen=True)
class Step:
    """One timed change: `at_seconds` after the start, do `action` to `speaker`."""

    at_seconds: float
    action: str
    speaker: str
    track: TrackSpec | None = None
    state: TransportState | None = None
    fault: SpeakerFault | None = None
    down_seconds: float = 5.0
    members: tuple[str, ...] = ()


@dataclass(frozen=True)
class Scenario:
    """Everything a scenario file describes."""

    name: str
    household_id: str = ""
    speakers: tuple[SpeakerSpec, ...] = ()
    groups: tuple[tuple[str, tuple[str, ...]], ...] = ()
    playlist: tuple[TrackSpec, ...] = ()
    interval_seconds: float = DEFAULT_INTERVAL_SECONDS
    timeline: tuple[Step, ...] = ()
    repeat_seconds: float = 0.0  # 0: the timeline runs once


def load_scenario(name_or_path: str) -> Scenario:
    """A built-in scenario by name (`demo`) or a TOML file by path."""
    builtin = resources.files("fakesonos.scenarios").joinpath(f"{name_or_path}.toml")
    if "/" not in name_or_path and builtin.is_file():
        text, source = builtin.read_text(encoding="utf-8"), f"scenario {name_or_path}"
    else:
        path = Path(name_or_path)
        try:
            text, source = path.read_text(encoding="utf-8"), str(path)
        except OSError as exc:
            raise ConfigError(f"scenario {name_or_path!r}: {exc.strerror or exc}") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{source}: {exc}") from None
    return parse_scenario(data, source)


def builtin_scenarios() -> list[str]:
    """Names of the scenarios shipped inside the package."""
    files = resources.files("fakesonos.scenarios").iterdir()
    return sorted(f.name.removesuffix(".toml") for f in files if f.name.endswith(".toml"))


def parse_scenario(data: Mapping[str, Any], source: str) -> Scenario:
    """A Scenario from parsed TOML; every mistake is a ConfigError naming the place."""
    household = _table(data, "household", source)
    speakers = tuple(
        _speaker(entry, index, f"{source}: speakers[{index}]")
        for index, entry in enumerate(_tables(data, "speakers", source))
    )
    groups = tuple(
        (_str(g, "coordinator", f"{source}: groups[{n}]"), _strs(g, "members", f"{source}: groups[{n}]"))
        for n, g in enumerate(_tables(data, "groups", source))
    )
    playlist_table = _table(data, "playlist", source)
    playlist = tuple(
        parse_track_spec(entry, f"{source}: playlist.tracks[{n}]")
        for n, entry in enumerate(_tables(playlist_table, "tracks", source))
    )
    interval = _number(playlist_table, "interval_seconds", DEFAULT_INTERVAL_SECONDS, source, minimum=0.05)
    timeline = tuple(
        sorted(
            (
                _step(entry, f"{source}: timeline[{n}]")
                for n, entry in enumerate(_tables(data, "timeline", source))
            ),
            key=lambda step: step.at_seconds,
        )
    )
    return Scenario(
        name=str(data.get("name", source)),
        household_id=str(household.get("id", "")),
        speakers=speakers,
        groups=groups,
        playlist=playlist,
        interval_seconds=interval,
        timeline=timeline,
        repeat_seconds=_number(data, "repeat_seconds", 0.0, source, minimum=0.0),
    )


def parse_track_spec(entry: Mapping[str, Any], where: str) -> TrackSpec:
    """A TrackSpec from a TOML table or JSON object."""
    unknown = set(entry) - _TRACK_KEYS
    if unknown:
        raise ConfigError(f"{where}: unknown keys {sorted(unknown)}; allowed: {sorted(_TRACK_KEYS)}")
    try:
        source = Source(entry.get("source", Source.LIBRARY.value))
    except ValueError:
        raise ConfigError(f"{where}: source must be one of {', '.join(s.value for s in Source)}") from None
    art_fault = entry.get("art_fault")
    cover_size = entry.get("cover_size", DEFAULT_COVER_SIZE_PIXELS)
    if not isinstance(cover_size, int) or not MIN_COVER_SIZE_PIXELS <= cover_size <= MAX_COVER_SIZE_PIXELS:
        raise ConfigError(
            f"{where}: cover_size must be an integer {MIN_COVER_SIZE_PIXELS}..{MAX_COVER_SIZE_PIXELS}"
        )
    try:
        return TrackSpec(
            title=_str(entry, "title", where, default=""),
            artist=_str(entry, "artist", where, default=""),
            album=_str(entry, "album", where, default=""),
            duration_seconds=int(_number(entry, "duration_seconds", 210, where, minimum=0)),
            source=source,
            station=_str(entry, "station", where, default=""),
            stream_content=_str(entry, "stream_content", where) if "stream_content" in entry else None,
            uri=_str(entry, "uri", where, default=""),
            art_fault=None if art_fault is None else parse_enum_name(ArtFault, str(art_fault)),
            cover=bool(entry.get("cover", True)),
            cover_size=cover_size,
        )
    except ValueError as exc:
        raise ConfigError(f"{where}: {exc}") from None


def default_ip(index: int, first: str = DEFAULT_FIRST_IP) -> str:
    """The index-th default address: 127.0.0.2, 127.0.0.3, ..."""
    return str(ipaddress.IPv4Address(first) + index)


def _speaker(entry: Mapping[str, Any], index: int, where: str) -> SpeakerSpec:
    room = _str(entry, "room", where)
    address = _str(entry, "address", where, default=default_ip(index))
    host, _, port_text = address.partition(":")
    try:
        ip = str(ipaddress.IPv4Address(host))
        port = int(port_text or SONOS_PORT)
    except ValueError:
        raise ConfigError(
            f"{where}: address {address!r} must look like 127.0.0.2 or 127.0.0.2:1400"
        ) from None
    bond_name = entry.get("bond")
    if bond_name is not None and bond_name not in set(Bond):
        raise ConfigError(f"{where}: bond must be one of {', '.join(Bond)}")
    return SpeakerSpec(ip, port, room, Bond(bond_name) if bond_name is not None else None)


def _step(entry: Mapping[str, Any], where: str) -> Step:
    action = _str(entry, "action", where)
    if action not in ACTIONS:
        raise ConfigError(f"{where}: action must be one of {', '.join(ACTIONS)}")
    try:
        fault_name = str(entry.get("fault", "none"))
        fault = None if fault_name.lower() == "none" else parse_enum_name(SpeakerFault, fault_name)
        state = TransportState(entry["state"]) if "state" in entry else None
    except ValueError as exc:
        raise ConfigError(f"{where}: {exc}") from None
    track = entry.get("track")
    if action == "track" and not isinstance(track, Mapping):
        raise ConfigError(f"{where}: a track step needs a track = {{ title = ..., ... }} table")
    if action == "state" and state is None:
        raise ConfigError(f'{where}: a state step needs state = "PLAYING" | "PAUSED_PLAYBACK" | "STOPPED"')
    return Step(
        at_seconds=_number(entry, "at_seconds", 0.0, where, minimum=0.0),
        action=action,
        speaker=_str(entry, "speaker", where),
        track=parse_track_spec(track, f"{where}.track") if isinstance(track, Mapping) else None,
        state=state,
        fault=fault,
        down_seconds=_number(entry, "down_seconds", 5.0, where, minimum=0.0),
        members=_strs(entry, "members", where) if action == "group" else (),
    )


def _table(data: Mapping[str, Any], key: str, where: str) -> Mapping[str, Any]:
    value = data.get(key, {})
    if not isinstance(value, Mapping):
        raise ConfigError(f"{where}: {key} must be a table")
    return value


def _tables(data: Mapping[str, Any], key: str, where: str) -> list[Mapping[str, Any]]:
    value = data.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, Mapping) for v in value):
        raise ConfigError(f"{where}: {key} must be an array of tables ([[{key}]])")
    return value


def _str(data: Mapping[str, Any], key: str, where: str, default: str | None = None) -> str:
    value = data.get(key, default)
    if not isinstance(value, str):
        raise ConfigError(f"{where}: {key} must be a string")
    return value


def _strs(data: Mapping[str, Any], key: str, where: str) -> tuple[str, ...]:
    value = data.get(key)
    if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
        raise ConfigError(f"{where}: {key} must be a non-empty array of room names")
    return tuple(value)


def _number(data: Mapping[str, Any], key: str, default: float, where: str, *, minimum: float) -> float:
    value = data.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float) or value < minimum:
        raise ConfigError(f"{where}: {key} must be a number of at least {minimum:g}")
    return float(value)


def apply_groups(household: Household, scenario: Scenario) -> None:
    """Group the household as the scenario says, skipping groups that name rooms it does not have."""
    for coordinator, members in scenario.groups:
        try:
            household.group(coordinator, members)
        except (UnknownSpeakerError, ValueError) as exc:
            logger.warning("scenario %s: group %s skipped: %s", scenario.name, coordinator, exc)


def apply_step(household: Household, step: Step) -> None:
    """Carry out one timeline step; a step naming a room the household lacks is skipped."""
    try:
        speaker = household.speaker(step.speaker)
        if step.action == "track" and step.track is not None:
            speaker.set_track(step.track.track())
        elif step.action == "empty":
            speaker.set_track(None)
        elif step.action == "state" and step.state is not None:
            speaker.set_state(step.state)
        elif step.action == "fault":
            speaker.set_fault(step.fault)
        elif step.action == "reboot":
            speaker.reboot(step.down_seconds)
        elif step.action == "group":
            household.group(speaker, step.members)
        elif step.action == "ungroup":
            household.ungroup(speaker)
    except (UnknownSpeakerError, ValueError) as exc:
        logger.warning("timeline step %s %s skipped: %s", step.action, step.speaker, exc)


def advance_playlist(
    household: Household, playlist: Sequence[TrackSpec], step: int, hold_seconds: float = 0.0
) -> None:
    """Give every group coordinator its playlist entry for this step (zones start at different points).

    A zone changed by hand in the last `hold_seconds` keeps what it was given.
    """
    if not playlist:
        return
    for offset, group in enumerate(household.topology().groups):
        coordinator = household.speaker(group.coordinator.uid)
        if household.changed_by_hand_within(coordinator, hold_seconds):
            continue
        if coordinator.fault is None and not coordinator.is_rebooting:
            entry = playlist[(step + ZONE_OFFSET_STEPS * offset) % len(playlist)]
            coordinator.set_track(entry.track())


class ScenarioPlayer(BackgroundChanges):
    """Plays a scenario's playlist and timeline against a household until stopped."""

    thread_name = "fakesonos-scenario"

    def __init__(
        self,
        household: Household,
        scenario: Scenario,
        interval_seconds: float | None = None,
        hold_seconds: float = HAND_HOLD_SECONDS,
    ) -> None:
        super().__init__()
        self._household = household
        self._scenario = scenario
        self._interval_seconds = interval_seconds or scenario.interval_seconds
        self._hold_seconds = hold_seconds
        household.set_queue(scenario.playlist)  # what Next and Previous step through

    def _first(self) -> None:
        advance_playlist(self._household, self._scenario.playlist, 0)

    def _run(self) -> None:
        started = time.monotonic()
        playlist_step = 1
        timeline = list(self._scenario.timeline)
        next_step, cycle_start = 0, 0.0
        while True:
            due_playlist = playlist_step * self._interval_seconds if self._scenario.playlist else float("inf")
            due_step = (
                cycle_start + timeline[next_step].at_seconds if next_step < len(timeline) else float("inf")
            )
            due = min(due_playlist, due_step)
            if due == float("inf"):
                self._stop.wait()
                return
            if self._stop.wait(max(0.0, started + due - time.monotonic())):
                return
            try:
                if due_step <= due_playlist:
                    apply_step(self._household, timeline[next_step])
                    next_step += 1
                    if next_step == len(timeline) and self._scenario.repeat_seconds > 0:
                        next_step, cycle_start = 0, cycle_start + self._scenario.repeat_seconds
                else:
                    advance_playlist(
                        self._household, self._scenario.playlist, playlist_step, self._hold_seconds
                    )
                    playlist_step += 1
            except Exception:
                logger.exception("scenario %s: a change failed", self._scenario.name)
