"""JSON control API: inspect the fake household and change what its speakers play."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from typing import Any, TypeGuard, cast
from urllib.parse import unquote, urlsplit

from contract.zone import TransportState
from fakesonos.covers import (
    DEFAULT_COVER_SIZE_PIXELS,
    MAX_COVER_SIZE_PIXELS,
    MIN_COVER_SIZE_PIXELS,
    generated_cover,
)
from fakesonos.faults import ArtFault, E, SpeakerFault, TransitionNotAvailableError, parse_enum_name
from fakesonos.household import DEFAULT_REBOOT_SECONDS, FakeSpeaker, Household, UnknownSpeakerError
from fakesonos.httpbase import BackgroundServer, BodyTooLargeError, Handler
from fakesonos.model import MAX_DURATION_SECONDS, Source, Track

DEFAULT_CONTROL_ADDRESS = ("127.0.0.1", 5005)
JSON_CONTENT_TYPE = "application/json; charset=utf-8"
MAX_TEXT_CHARS = 500

_SPEAKER_ACTION_RE = re.compile(
    r"^/speakers/(?P<ref>[^/]+)/(?P<action>track|state|seek|ungroup|fault|reboot)$"
)
_SPEAKER_RE = re.compile(r"^/speakers/(?P<ref>[^/]+)$")
_SUBSCRIPTIONS_RE = re.compile(r"^/speakers/(?P<ref>[^/]+)/subscriptions$")
_TRACK_RE = re.compile(r"^/speakers/(?P<ref>[^/]+)/track$")
MAX_REBOOT_SECONDS = 3600.0
MAX_SEEK_SECONDS = MAX_DURATION_SECONDS
# What `GET /` answers: every endpoint, so that a newcomer with curl finds the rest from there.
ENDPOINTS = (
    ("GET", "/", "this list (a change by hand holds that room's demo playlist for two minutes)"),
    ("GET", "/healthz", "liveness"),
    ("GET", "/speakers", "every speaker: room, ip, group, what it plays, its faults"),
    ("GET", "/speakers/<room>", "one speaker (room slug such as living-room, room name, uid or ip)"),
    ("GET", "/speakers/<room>/subscriptions", "its live UPnP event subscriptions"),
    ("POST", "/speakers/<room>/track",
     '{"title", "artist", "album", "duration_seconds", "cover": {"size", "seed"} | null, "source": '
     '"library|streaming|radio|line_in|tv|airplay", "station", "stream_content", "art_fault"}'),
    ("DELETE", "/speakers/<room>/track", "empty its queue (nothing playing)"),
    ("POST", "/speakers/<room>/state", '{"state": "PLAYING|PAUSED_PLAYBACK|STOPPED|TRANSITIONING"}'),
    ("POST", "/speakers/<room>/seek", '{"position_seconds": 90} (jump within the track, as an app does)'),
    ("POST", "/speakers/<room>/fault", '{"fault": "OFFLINE|HANG|UPNP_DISABLED|EVENTS_LOST" | null}'),
    ("POST", "/speakers/<room>/reboot", '{"down_seconds": 5}'),
    ("POST", "/speakers/<room>/ungroup", "leave its group (a coordinator dissolves it)"),
    ("POST", "/groups", '{"coordinator": "<room>", "members": ["<room>", ...]}'),
)  # fmt: skip


class BadRequestError(ValueError):
    """The request body is not what the endpoint accepts; the message says why."""


def speaker_json(speaker: FakeSpeaker) -> dict[str, Any]:
    """What the control API reports about one speaker (a member shows its group's playback)."""
    view = speaker.view()
    track = None if view.is_member else view.track
    return {
        "ip": speaker.ip,
        "port": speaker.port,
        "uid": speaker.uid,
        "room": speaker.room,
        "zone_id": speaker.zone_id,
        "coordinator_uid": view.coordinator_uid,
        "is_coordinator": not view.is_member,
        "state": view.state.value,
        "title": track.title if track else "",
        "artist": track.artist if track else "",
        "album": track.album if track else "",
        "duration_seconds": track.duration_seconds if track else 0,
        "position_seconds": view.position_seconds if track else 0,
        "uri": track.uri if track else "",
        "has_cover": bool(track and track.cover),
        "source": track.source.value if track else "",
        "station": track.station if track else "",
        "stream_content": track.stream_content if track else "",
        "art_fault": track.art_fault.value if track and track.art_fault else None,
        "fault": speaker.fault.value if speaker.fault else None,
        "rebooting": speaker.is_rebooting,
        "boot_seq": speaker.boot_seq,
        "subscriptions": len(speaker.subscriptions),
        "change_count": speaker.change_count,
        "soap_actions": speaker.actions_served(),
    }


def subscriptions_json(speaker: FakeSpeaker) -> list[dict[str, Any]]:
    """The live event subscriptions of one speaker."""
    return [
        {
            "sid": s.sid,
            "service": s.service,
            "callback_url": s.callback_url,
            "timeout_seconds": s.timeout_seconds,
            "next_seq": s.next_seq,
        }
        for s in speaker.subscriptions
    ]


def parse_track_request(body: Mapping[str, Any]) -> Track:
    """A Track from `{"title", "artist", "album", "duration_seconds"?, "cover"?, "source"?, "station"?,
    "stream_content"?, "uri"?, "art_fault"?}`; cover null means none (title optional for live sources)."""
    source = _choice(body, "source", Source, Source.LIBRARY)
    title = _text(body, "title", required=source not in _UNTITLED_SOURCES)
    artist = _text(body, "artist")
    album = _text(body, "album")
    extra: dict[str, Any] = {
        "source": source,
        "station": _text(body, "station"),
        "uri": _text(body, "uri"),
        "art_fault": _fault(body, "art_fault", ArtFault),
    }
    if body.get("stream_content") is not None:
        extra["stream_content"] = _text(body, "stream_content")
    duration = body.get("duration_seconds", 210)
    if not _is_int(duration) or not 0 <= duration <= MAX_DURATION_SECONDS:
        raise BadRequestError(f"duration_seconds must be an integer 0..{MAX_DURATION_SECONDS}")
    cover_spec = body.get("cover", {})
    if cover_spec is None:
        return Track(title, artist, album, duration, **extra)
    if not isinstance(cover_spec, dict):
        raise BadRequestError('cover must be an object like {"size": 640, "seed": "x"} or null')
    size = cover_spec.get("size", DEFAULT_COVER_SIZE_PIXELS)
    if not _is_int(size) or not MIN_COVER_SIZE_PIXELS <= size <= MAX_COVER_SIZE_PIXELS:
        raise BadRequestError(
            f"cover.size must be an integer {MIN_COVER_SIZE_PIXELS}..{MAX_COVER_SIZE_PIXELS}"
        )
    seed = _text(cover_spec, "seed", name="cover.seed") or f"{artist}/{album}"
    cover = generated_cover(title or extra["station"], artist, seed, size)
    return Track(title, artist, album, duration, cover=cover, **extra)


def parse_fault_request(body: Mapping[str, Any]) -> SpeakerFault | None:
    """A SpeakerFault from `{"fault": "OFFLINE|HANG|UPNP_DISABLED|EVENTS_LOST"}`; null clears it."""
    if "fault" not in body:
        raise BadRequestError(
            'expected {"fault": "OFFLINE" | "HANG" | "UPNP_DISABLED" | "EVENTS_LOST" | null}'
        )
    return _fault(body, "fault", SpeakerFault)


def parse_reboot_request(body: Mapping[str, Any]) -> float:
    """Seconds offline from `{"down_seconds": 5}` (default 5)."""
    value = body.get("down_seconds", DEFAULT_REBOOT_SECONDS)
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= MAX_REBOOT_SECONDS:
        raise BadRequestError(f"down_seconds must be a number 0..{MAX_REBOOT_SECONDS:g}")
    return float(value)


_UNTITLED_SOURCES = frozenset({Source.RADIO, Source.LINE_IN, Source.TV})


def parse_seek_request(body: Mapping[str, Any]) -> int:
    """Seconds into the track from `{"position_seconds": 90}`."""
    value = body.get("position_seconds")
    if not (_is_int(value) and 0 <= value <= MAX_SEEK_SECONDS):
        raise BadRequestError(f"position_seconds must be an integer 0..{MAX_SEEK_SECONDS}")
    return value


def _choice(body: Mapping[str, Any], key: str, enum: type[Source], default: Source) -> Source:
    value = body.get(key, default.value)
    try:
        return enum(value)
    except ValueError:
        raise BadRequestError(f"{key} must be one of {', '.join(m.value for m in enum)}") from None


def _fault(body: Mapping[str, Any], key: str, enum: type[E]) -> E | None:
    value = body.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise BadRequestError(f"{key} must be null or one of {', '.join(m.name for m in enum)}")
    try:
        return parse_enum_name(enum, value)
    except ValueError as exc:
        raise BadRequestError(f"{key}: {exc}") from None


def parse_state_request(body: Mapping[str, Any]) -> TransportState:
    """A TransportState from `{"state": "PLAYING|PAUSED_PLAYBACK|STOPPED|TRANSITIONING"}`."""
    states = {state.value: state for state in TransportState}
    value = body.get("state")
    if not isinstance(value, str) or value not in states:
        raise BadRequestError(f"state must be one of {', '.join(states)}")
    return states[value]


def _text(body: Mapping[str, Any], key: str, *, required: bool = False, name: str = "") -> str:
    value = body.get(key, "")
    if not isinstance(value, str) or len(value) > MAX_TEXT_CHARS or (required and not value.strip()):
        need = "a non-empty string" if required else "a string"
        raise BadRequestError(f"{name or key} must be {need} of at most {MAX_TEXT_CHARS} characters")
    return value


def _is_int(value: object) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)


class _NoSuchEndpointError(LookupError):
    """The path names no endpoint."""


class _ControlHandler(Handler):
    server_version = "fakesonos-control"

    @property
    def _household(self) -> Household:
        return cast(Household, self.context)

    def do_GET(self) -> None:
        """Health and inspection."""
        self._respond(self._get)

    def do_POST(self) -> None:
        """Change a speaker's track, state, fault or grouping, or reboot it."""
        self._respond(self._post)

    def do_DELETE(self) -> None:
        """Empty a speaker's queue."""
        self._respond(self._delete)

    def _get(self, path: str) -> object:
        if path == "/":
            return {
                "endpoints": [{"method": m, "path": p, "body": b} for m, p, b in ENDPOINTS],
                "art_faults": [fault.name for fault in ArtFault],
            }
        if path == "/healthz":
            return {"status": "ok"}
        if path == "/speakers":
            return [speaker_json(s) for s in self._household.speakers]
        if match := _SPEAKER_RE.match(path):
            return speaker_json(self._speaker(match["ref"]))
        if match := _SUBSCRIPTIONS_RE.match(path):
            return subscriptions_json(self._speaker(match["ref"]))
        raise _NoSuchEndpointError(f"no such endpoint: GET {path}")

    def _delete(self, path: str) -> object:
        self._read_json()
        if match := _TRACK_RE.match(path):
            speaker = self._speaker(match["ref"])
            self._household.mark_changed_by_hand(speaker)
            speaker.set_track(None)
            return speaker_json(speaker)
        raise _NoSuchEndpointError(f"no such endpoint: DELETE {path}")

    def _post(self, path: str) -> object:
        body = self._read_json()
        if path == "/groups":
            return self._group(body)
        match = _SPEAKER_ACTION_RE.match(path)
        if match is None:
            raise _NoSuchEndpointError(f"no such endpoint: POST {path}")
        speaker = self._speaker(match["ref"])
        if match["action"] == "track":
            track = parse_track_request(body)
            self._household.mark_changed_by_hand(speaker)
            speaker.set_track(track)
        elif match["action"] == "state":
            state = parse_state_request(body)
            self._household.mark_changed_by_hand(speaker)
            speaker.set_state(state)
        elif match["action"] == "seek":
            position_seconds = parse_seek_request(body)
            try:
                speaker.seek(position_seconds)
            except TransitionNotAvailableError as exc:
                raise BadRequestError(str(exc)) from None
        elif match["action"] == "fault":
            speaker.set_fault(parse_fault_request(body))
        elif match["action"] == "reboot":
            speaker.reboot(parse_reboot_request(body))
        else:
            self._household.ungroup(speaker)
        return speaker_json(speaker)

    def _group(self, body: Mapping[str, Any]) -> object:
        coordinator, members = body.get("coordinator"), body.get("members")
        if not isinstance(coordinator, str) or not (
            isinstance(members, list) and members and all(isinstance(m, str) for m in members)
        ):
            raise BadRequestError('expected {"coordinator": "<ref>", "members": ["<ref>", ...]}')
        try:
            self._household.group(coordinator, members)
        except ValueError as exc:
            raise BadRequestError(str(exc)) from None
        return [speaker_json(s) for s in self._household.speakers]

    def _speaker(self, ref: str) -> FakeSpeaker:
        return self._household.speaker(unquote(ref))

    def _respond(self, route: Callable[[str], object]) -> None:
        try:
            status, payload = 200, route(urlsplit(self.path).path)
        except BadRequestError as exc:
            status, payload = 400, {"error": str(exc)}
        except (UnknownSpeakerError, _NoSuchEndpointError) as exc:
            status, payload = 404, {"error": str(exc.args[0])}
        self._send_json(status, payload)

    def _read_json(self) -> dict[str, Any]:
        try:
            raw = self.read_body()
        except BodyTooLargeError as exc:
            raise BadRequestError(str(exc)) from None
        try:
            body = json.loads(raw or b"{}")
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise BadRequestError(f"body is not JSON: {exc}") from None
        if not isinstance(body, dict):
            raise BadRequestError("body must be a JSON object")
        return body

    def _send_json(self, status: int, payload: object) -> None:
        self.send_body(status, json.dumps(payload, ensure_ascii=False).encode(), JSON_CONTENT_TYPE)


class ControlServer(BackgroundServer):
    """The control API for one household on its own address (port 0 picks a free one)."""

    def __init__(self, household: Household, address: tuple[str, int] = DEFAULT_CONTROL_ADDRESS) -> None:
        super().__init__(address, _ControlHandler, household, name="fakesonos-control")

    @property
    def url(self) -> str:
        """`http://host:port` of the running API."""
        host, port = self.address
        return f"http://{host}:{port}"
