"""One fake speaker's HTTP server: device description, SCPDs, SOAP control and album art."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, cast
from urllib.parse import parse_qs, urlsplit

from fakesonos import upnp
from fakesonos.httpbase import BackgroundServer, BodyTooLargeError, Handler
from fakesonos.model import PlaybackView, SpeakerInfo

if TYPE_CHECKING:
    from fakesonos.household import Household

SERVER_HEADER = f"Linux UPnP/1.0 Sonos/{upnp.SOFTWARE_VERSION} (ZPS18)"

Action = Callable[["Household", SpeakerInfo], upnp.OutArgs]


def _view(household: Household, info: SpeakerInfo) -> PlaybackView:
    return household.speaker(info.uid).view()


# service type -> action -> out-args builder
ACTIONS: dict[str, dict[str, Action]] = {
    "DeviceProperties": {
        "GetHouseholdID": lambda household, _: upnp.household_id_args(household.household_id),
    },
    "ZoneGroupTopology": {
        "GetZoneGroupState": lambda household, _: upnp.zone_group_state_args(household.topology()),
    },
    "AVTransport": {
        "GetPositionInfo": lambda household, info: upnp.position_info_args(_view(household, info)),
        "GetTransportInfo": lambda household, info: upnp.transport_info_args(_view(household, info)),
        "GetMediaInfo": lambda household, info: upnp.media_info_args(_view(household, info)),
    },
}
CONTROL_PATHS = {
    "/DeviceProperties/Control": "DeviceProperties",
    "/ZoneGroupTopology/Control": "ZoneGroupTopology",
    "/MediaRenderer/AVTransport/Control": "AVTransport",
}
# soco fetches an SCPD only for actions it calls without arguments.
SCPDS = {
    "/xml/DeviceProperties1.xml": upnp.scpd(ACTIONS["DeviceProperties"]),
    "/xml/ZoneGroupTopology1.xml": upnp.scpd(ACTIONS["ZoneGroupTopology"]),
}


@dataclass(frozen=True)
class _Context:
    household: Household
    info: SpeakerInfo


class _SpeakerHandler(Handler):
    server_version = SERVER_HEADER

    @property
    def _context(self) -> _Context:
        return cast(_Context, self.context)

    def do_GET(self) -> None:
        """Serve descriptions and album art."""
        url = urlsplit(self.path)
        if url.path == "/xml/device_description.xml":
            self._send_xml(200, upnp.device_description(self._context.info))
        elif url.path in SCPDS:
            self._send_xml(200, SCPDS[url.path])
        elif url.path == "/getaa":
            self._send_album_art(parse_qs(url.query).get("u", [""])[0])
        else:
            self.send_body(404, b"not found\n", "text/plain; charset=utf-8")

    do_HEAD = do_GET

    def do_POST(self) -> None:
        """Answer a SOAP action on one of the control URLs."""
        try:
            self.read_body()
        except BodyTooLargeError as exc:
            self.send_body(413, f"{exc}\n".encode(), "text/plain; charset=utf-8")
            return
        service_type = CONTROL_PATHS.get(urlsplit(self.path).path)
        if service_type is None:
            self.send_body(404, b"not found\n", "text/plain; charset=utf-8")
            return
        parsed = upnp.parse_soap_action(self.headers.get("SOAPACTION"))
        action = ACTIONS[service_type].get(parsed[1]) if parsed else None
        if parsed is None or action is None or parsed[0] != upnp.service_urn(service_type):
            self._send_xml(500, upnp.upnp_fault(upnp.UNKNOWN_ACTION, "Invalid Action"))
            return
        out_args = action(self._context.household, self._context.info)
        self._send_xml(200, upnp.soap_response(service_type, parsed[1], out_args))

    def _send_album_art(self, uri: str) -> None:
        household = self._context.household
        if uri:
            cover = household.cover_for_uri(uri)
        else:
            track = household.speaker(self._context.info.uid).view().track
            cover = track.cover if track is not None else None
        if cover is None:
            self.send_body(404, b"no album art\n", "text/plain; charset=utf-8")
        else:
            self.send_body(200, cover.data, cover.content_type, {"Cache-Control": "no-cache"})

    def _send_xml(self, status: int, document: str) -> None:
        self.send_body(status, document.encode("utf-8"), upnp.XML_CONTENT_TYPE)


class SpeakerServer(BackgroundServer):
    """Serves one speaker of a household on the speaker's own ip:port."""

    def __init__(self, household: Household, info: SpeakerInfo) -> None:
        super().__init__(
            (info.ip, info.port),
            _SpeakerHandler,
            _Context(household, info),
            name=f"fakesonos-{info.ip}:{info.port}",
        )
