"""One fake speaker's HTTP server: descriptions, SOAP control, eventing, album art, and speaker faults."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, cast
from urllib.parse import parse_qs, urlsplit

from contract.timecode import parse_hms
from fakesonos import upnp
from fakesonos.art_responses import TEXT_CONTENT_TYPE, send_art
from fakesonos.events import EVENT_PATHS, parse_callback, parse_timeout
from fakesonos.faults import IllegalSeekTargetError, SpeakerFault, TransitionNotAvailableError
from fakesonos.httpbase import BackgroundServer, BodyTooLargeError, Handler

if TYPE_CHECKING:
    from fakesonos.household import FakeSpeaker, Household

SERVER_HEADER = f"Linux UPnP/1.0 Sonos/{upnp.SOFTWARE_VERSION} (ZPS18)"

# (household, speaker, the request's in-args) -> out-args
Action = Callable[["Household", "FakeSpeaker", Mapping[str, str]], upnp.OutArgs]
TRANSITION_NOT_AVAILABLE = 701  # UPnP AVTransport "Transition not available"
ILLEGAL_SEEK_TARGET = 711  # UPnP AVTransport "Illegal seek target"


def _command(act: Callable[[FakeSpeaker], None]) -> Action:
    """A transport command (Play, Next, ...): done on the speaker's group, with no out-args."""

    def action(_: Household, speaker: FakeSpeaker, __: Mapping[str, str]) -> upnp.OutArgs:
        act(speaker)
        return []

    return action


def _seek(_: Household, speaker: FakeSpeaker, args: Mapping[str, str]) -> upnp.OutArgs:
    """Seek by REL_TIME (`soco.seek("0:01:30")`), the only unit a track position is given in here."""
    position_seconds = parse_hms(args.get("Target", ""))
    if args.get("Unit") != "REL_TIME" or position_seconds is None:
        raise IllegalSeekTargetError(f"cannot seek to {args.get('Unit')} {args.get('Target')!r}")
    speaker.seek(position_seconds)
    return []


# service type -> action -> out-args builder
ACTIONS: dict[str, dict[str, Action]] = {
    "DeviceProperties": {
        "GetHouseholdID": lambda household, _, __: upnp.household_id_args(household.household_id),
    },
    "ZoneGroupTopology": {
        "GetZoneGroupState": lambda household, _, __: upnp.zone_group_state_args(household.topology()),
    },
    "AVTransport": {
        "GetPositionInfo": lambda _, speaker, __: upnp.position_info_args(speaker.view()),
        "GetTransportInfo": lambda _, speaker, __: upnp.transport_info_args(speaker.view()),
        "GetMediaInfo": lambda _, speaker, __: upnp.media_info_args(speaker.view()),
        "Play": _command(lambda speaker: speaker.play()),
        "Pause": _command(lambda speaker: speaker.pause()),
        "Stop": _command(lambda speaker: speaker.stop_playback()),
        "Next": _command(lambda speaker: speaker.skip(1)),
        "Previous": _command(lambda speaker: speaker.skip(-1)),
        "Seek": _seek,
    },
    "RenderingControl": {
        "GetVolume": lambda *_: [("CurrentVolume", str(upnp.DEFAULT_VOLUME))],
        "GetMute": lambda *_: [("CurrentMute", "0")],
    },
}
CONTROL_PATHS = {
    "/DeviceProperties/Control": "DeviceProperties",
    "/ZoneGroupTopology/Control": "ZoneGroupTopology",
    "/MediaRenderer/AVTransport/Control": "AVTransport",
    "/MediaRenderer/RenderingControl/Control": "RenderingControl",
}
# soco fetches an SCPD only for actions it calls without arguments.
SCPDS = {
    "/xml/DeviceProperties1.xml": upnp.scpd(ACTIONS["DeviceProperties"]),
    "/xml/ZoneGroupTopology1.xml": upnp.scpd(ACTIONS["ZoneGroupTopology"]),
}


@dataclass(frozen=True)
class _Context:
    household: Household
    speaker: FakeSpeaker


class _SpeakerHandler(Handler):
    server_version = SERVER_HEADER

    @property
    def _context(self) -> _Context:
        return cast(_Context, self.context)

    def parse_request(self) -> bool:
        """Read the request, then under HANG hold it unanswered until the fault clears (then hang up)."""
        if not super().parse_request():
            return False
        if self._context.speaker.wait_until_responsive(self.stopping):
            return True
        self.close_connection = True
        return False

    def do_GET(self) -> None:
        """Serve descriptions and album art."""
        url = urlsplit(self.path)
        if url.path == "/xml/device_description.xml":
            self._send_xml(200, upnp.device_description(self._context.speaker.info))
        elif url.path in SCPDS:
            self._send_xml(200, SCPDS[url.path])
        elif url.path == "/getaa":
            self._send_album_art(parse_qs(url.query).get("u", [""])[0])
        else:
            self.send_body(404, b"not found\n", TEXT_CONTENT_TYPE)

    do_HEAD = do_GET

    def do_POST(self) -> None:
        """Answer a SOAP action on one of the control URLs."""
        try:
            body = self.read_body()
        except BodyTooLargeError as exc:
            self.send_body(413, f"{exc}\n".encode(), TEXT_CONTENT_TYPE)
            return
        service_type = CONTROL_PATHS.get(urlsplit(self.path).path)
        if service_type is None:
            self.send_body(404, b"not found\n", TEXT_CONTENT_TYPE)
            return
        if self._upnp_disabled():
            return
        parsed = upnp.parse_soap_action(self.headers.get("SOAPACTION"))
        action = ACTIONS[service_type].get(parsed[1]) if parsed else None
        if parsed is None or action is None or parsed[0] != upnp.service_urn(service_type):
            self._send_xml(500, upnp.upnp_fault(upnp.UNKNOWN_ACTION, "Invalid Action"))
            return
        speaker = self._context.speaker
        speaker.count_action(parsed[1])
        try:
            out_args = action(self._context.household, speaker, upnp.soap_in_args(body))
        except TransitionNotAvailableError as exc:
            self._send_xml(500, upnp.upnp_fault(TRANSITION_NOT_AVAILABLE, str(exc)))
            return
        except IllegalSeekTargetError as exc:
            self._send_xml(500, upnp.upnp_fault(ILLEGAL_SEEK_TARGET, str(exc)))
            return
        self._send_xml(200, upnp.soap_response(service_type, parsed[1], out_args))

    def do_SUBSCRIBE(self) -> None:
        """New subscription (CALLBACK + NT) or renewal (SID); the initial event follows the reply."""
        service = self._event_service()
        if service is None:
            return
        speaker = self._context.speaker
        sid = self.headers.get("SID")
        callback_header, nt = self.headers.get("CALLBACK"), self.headers.get("NT")
        timeout_seconds = parse_timeout(self.headers.get("TIMEOUT"))
        if sid and (callback_header or nt):
            self.send_body(400, b"SID cannot be combined with CALLBACK or NT\n", TEXT_CONTENT_TYPE)
            return
        if sid:
            renewed = speaker.renew(sid, timeout_seconds)
            if renewed is None:
                self.send_body(412, b"unknown SID\n", TEXT_CONTENT_TYPE)
            else:
                self._send_subscription(renewed.sid, renewed.timeout_seconds)
            return
        callback = parse_callback(callback_header)
        if nt != "upnp:event" or callback is None:
            self.send_body(412, b"CALLBACK and NT: upnp:event are required\n", TEXT_CONTENT_TYPE)
            return
        subscription = speaker.subscribe(service, callback, timeout_seconds)
        self._send_subscription(subscription.sid, subscription.timeout_seconds)
        speaker.send_initial_event(subscription.sid)  # only now: soco registers the SID on our reply

    def do_UNSUBSCRIBE(self) -> None:
        """End a subscription; 412 for an unknown SID."""
        if self._event_service() is None:
            return
        if self._context.speaker.unsubscribe(self.headers.get("SID") or ""):
            self.send_body(200, b"", TEXT_CONTENT_TYPE)
        else:
            self.send_body(412, b"unknown SID\n", TEXT_CONTENT_TYPE)

    def _event_service(self) -> str | None:
        try:
            self.read_body()
        except BodyTooLargeError as exc:
            self.send_body(413, f"{exc}\n".encode(), TEXT_CONTENT_TYPE)
            return None
        service = EVENT_PATHS.get(urlsplit(self.path).path)
        if service is None:
            self.send_body(404, b"not found\n", TEXT_CONTENT_TYPE)
            return None
        if self._upnp_disabled():
            return None
        return service

    def _upnp_disabled(self) -> bool:
        if self._context.speaker.fault is not SpeakerFault.UPNP_DISABLED:
            return False
        self.send_body(403, b"Forbidden\n", "text/html")
        return True

    def _send_subscription(self, sid: str, timeout_seconds: int) -> None:
        self.send_body(
            200,
            b"",
            TEXT_CONTENT_TYPE,
            {
                "SID": sid,
                "TIMEOUT": f"Second-{timeout_seconds}",
                "X-Rincon-Bootseq": str(self._context.speaker.boot_seq),
            },
        )
        self.wfile.flush()

    def _send_album_art(self, uri: str) -> None:
        household, speaker = self._context.household, self._context.speaker
        if uri:
            track = household.art_for_uri(uri)
        else:
            view = speaker.view()
            track = None if view.is_member else view.track
        send_art(self, track, self.stopping)

    def _send_xml(self, status: int, document: str) -> None:
        self.send_body(status, document.encode("utf-8"), upnp.XML_CONTENT_TYPE)


class SpeakerServer(BackgroundServer):
    """Serves one speaker of a household on the speaker's own ip:port."""

    def __init__(self, household: Household, speaker: FakeSpeaker) -> None:
        super().__init__(
            (speaker.ip, speaker.port),
            _SpeakerHandler,
            _Context(household, speaker),
            name=f"fakesonos-{speaker.ip}:{speaker.port}",
        )
        self._household = household

    def on_stopping(self) -> None:
        """Wake requests held by HANG so their threads end with the server."""
        with self._household.changes:
            self._household.changes.notify_all()
