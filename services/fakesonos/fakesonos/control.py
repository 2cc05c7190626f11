"""JSON control API: inspect the fake household and change what its speakers play."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from typing import Any, cast
from urllib.parse import unquote, urlsplit

from contract.zone import TransportState
from fakesonos.covers import (
    DEFAULT_COVER_SIZE_PIXELS,
    MAX_COVER_SIZE_PIXELS,
    MIN_COVER_SIZE_PIXELS,
    generated_cover,
)
from fakesonos.household import FakeSpeaker, Household, UnknownSpeakerError
from fakesonos.httpbase import BackgroundServer, BodyTooLargeError, Handler
from fakesonos.model import MAX_DURATION_SECONDS, Track

DEFAULT_CONTROL_ADDRESS = ("127.0.0.1", 5005)
JSON_CONTENT_TYPE = "application/json; charset=utf-8"
MAX_TEXT_CHARS = 500

_SPEAKER_ACTION_RE = re.compile(r"^/speakers/(?P<ref>[^/]+)/(?P<action>track|state|ungroup)$")
_SPEAKER_RE = re.compile(r"^/speakers/(?P<ref>[^/]+)$")


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
        "uri": track.uri if track else "",
        "has_cover": bool(track and track.cover),
        "change_count": speaker.change_count,
    }


def parse_track_request(body: Mapping[str, Any]) -> Track:
    """A Track from `{"title", "artist", "album", "duration_seconds"?, "cover"?}`; cover null means none."""
    title = _text(body, "title", required=True)
    artist = _text(body, "artist")
    album = _text(body, "album")
    duration = body.get("duration_seconds", 210)
    if not _is_int(duration) or not 0 <= duration <= MAX_DURATION_SECONDS:
        raise BadRequestError(f"duration_seconds must be an integer 0..{MAX_DURATION_SECONDS}")
    cover_spec = body.get("cover", {})
    if cover_spec is None:
        return Track(title, artist, album, duration)
    if not isinstance(cover_spec, dict):
        raise BadRequestError('cover must be an object like {"size": 640, "seed": "x"} or null')
    size = cover_spec.get("size", DEFAULT_COVER_SIZE_PIXELS)
    if not _is_int(size) or not MIN_COVER_SIZE_PIXELS <= size <= MAX_COVER_SIZE_PIXELS:
        raise BadRequestError(
            f"cover.size must be an integer {MIN_COVER_SIZE_PIXELS}..{MAX_COVER_SIZE_PIXELS}"
        )
    seed = _text(cover_spec, "seed", name="cover.seed") or f"{artist}/{album}"
    return Track(title, artist, album, duration, cover=generated_cover(title, artist, seed, size))


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


def _is_int(value: object) -> bool:
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
        """Change a speaker's track, state or grouping."""
        self._respond(self._post)

    def _get(self, path: str) -> object:
        if path == "/healthz":
            return {"status": "ok"}
        if path == "/speakers":
            return [speaker_json(s) for s in self._household.speakers]
        if match := _SPEAKER_RE.match(path):
            return speaker_json(self._speaker(match["ref"]))
        raise _NoSuchEndpointError(f"no such endpoint: GET {path}")

    def _post(self, path: str) -> object:
        body = self._read_json()
        if path == "/groups":
            return self._group(body)
        match = _SPEAKER_ACTION_RE.match(path)
        if match is None:
            raise _NoSuchEndpointError(f"no such endpoint: POST {path}")
        speaker = self._speaker(match["ref"])
        if match["action"] == "track":
            speaker.set_track(parse_track_request(body))
        elif match["action"] == "state":
            speaker.set_state(parse_state_request(body))
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
