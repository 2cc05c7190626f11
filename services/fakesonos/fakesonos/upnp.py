"""Pure builders of the UPnP XML a Sonos speaker sends (device description, SCPDs, SOAP bodies)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from urllib.parse import quote
from xml.sax.saxutils import escape, quoteattr

from fakesonos.model import PlaybackView, SpeakerInfo, Topology, Track

XML_CONTENT_TYPE = 'text/xml; charset="utf-8"'
SOFTWARE_VERSION = "80.1-00000"
MODEL_NAME = "Sonos One"
MODEL_NUMBER = "S18"
UNKNOWN_ACTION = 401  # UPnP "Invalid Action"
NOT_IMPLEMENTED = "NOT_IMPLEMENTED"
MAX_COUNT = "2147483647"

OutArgs = Sequence[tuple[str, str]]

_SOAP_ENV_NS = "http://schemas.xmlsoap.org/soap/envelope/"
_SOAP_ENCODING = "http://schemas.xmlsoap.org/soap/encoding/"
_DIDL_OPEN = (
    '<DIDL-Lite xmlns:dc="http://purl.org/dc/elements/1.1/" '
    'xmlns:upnp="urn:schemas-upnp-org:metadata-1-0/upnp/" '
    'xmlns:r="urn:schemas-rinconnetworks-com:metadata-1-0/" '
    'xmlns="urn:schemas-upnp-org:metadata-1-0/DIDL-Lite/">'
)
# Characters XML 1.0 forbids even when escaped; a title containing one would break soco's parser.
_NOT_XML_CHARS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def text(value: str) -> str:
    """Escape a value for element content."""
    return escape(_NOT_XML_CHARS.sub("", value))


def attr(value: str) -> str:
    """Escape and quote a value for an attribute."""
    return quoteattr(_NOT_XML_CHARS.sub("", value))


def service_urn(service_type: str) -> str:
    """`urn:schemas-upnp-org:service:<type>:1`."""
    return f"urn:schemas-upnp-org:service:{service_type}:1"


def parse_soap_action(header: str | None) -> tuple[str, str] | None:
    """Split a SOAPACTION header into (service urn, action); quotes are optional."""
    value = (header or "").strip().strip('"').strip()
    urn, sep, action = value.rpartition("#")
    if not sep or not urn or not action:
        return None
    return urn, action


def hms(seconds: int) -> str:
    """`H:MM:SS`, the UPnP duration format."""
    hours, rest = divmod(max(seconds, 0), 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}"


def soap_response(service_type: str, action: str, out_args: OutArgs) -> str:
    """A SOAP response envelope; out-args are unqualified elements with escaped text."""
    body = "".join(f"<{name}>{text(value)}</{name}>" for name, value in out_args)
    return (
        f'<?xml version="1.0"?><s:Envelope xmlns:s="{_SOAP_ENV_NS}" s:encodingStyle="{_SOAP_ENCODING}">'
        f'<s:Body><u:{action}Response xmlns:u="{service_urn(service_type)}">{body}</u:{action}Response>'
        "</s:Body></s:Envelope>"
    )


def upnp_fault(error_code: int, description: str = "") -> str:
    """A SOAP fault carrying a UPnPError code (sent with HTTP 500)."""
    detail = f"<errorDescription>{text(description)}</errorDescription>" if description else ""
    return (
        f'<?xml version="1.0"?><s:Envelope xmlns:s="{_SOAP_ENV_NS}" s:encodingStyle="{_SOAP_ENCODING}">'
        "<s:Body><s:Fault><faultcode>s:Client</faultcode><faultstring>UPnPError</faultstring>"
        '<detail><UPnPError xmlns="urn:schemas-upnp-org:control-1-0">'
        f"<errorCode>{error_code}</errorCode>{detail}</UPnPError></detail>"
        "</s:Fault></s:Body></s:Envelope>"
    )


def scpd(action_names: Iterable[str]) -> str:
    """A minimal SCPD; soco ignores any action lacking an `<argumentList/>`."""
    actions = "".join(f"<action><name>{text(name)}</name><argumentList/></action>" for name in action_names)
    return (
        '<?xml version="1.0" encoding="utf-8"?><scpd xmlns="urn:schemas-upnp-org:service-1-0">'
        "<specVersion><major>1</major><minor>0</minor></specVersion>"
        f"<actionList>{actions}</actionList><serviceStateTable/></scpd>"
    )


def device_description(info: SpeakerInfo) -> str:
    """The speaker's device description; soco needs `serialNum` and `modelName`."""
    return (
        '<?xml version="1.0" encoding="utf-8"?><root xmlns="urn:schemas-upnp-org:device-1-0">'
        "<specVersion><major>1</major><minor>0</minor></specVersion><device>"
        "<deviceType>urn:schemas-upnp-org:device:ZonePlayer:1</deviceType>"
        f"<friendlyName>{text(f'{info.ip} - {MODEL_NAME}')}</friendlyName>"
        "<manufacturer>Sonos, Inc.</manufacturer>"
        f"<modelNumber>{MODEL_NUMBER}</modelNumber><modelName>{MODEL_NAME}</modelName>"
        f"<softwareVersion>{SOFTWARE_VERSION}</softwareVersion><hardwareVersion>1.0</hardwareVersion>"
        f"<serialNum>{text(info.serial_number)}</serialNum><UDN>uuid:{text(info.uid)}</UDN>"
        f"<displayVersion>16.0</displayVersion><roomName>{text(info.room)}</roomName>"
        f"<iconList><icon><url>/img/icon-{MODEL_NUMBER}.png</url></icon></iconList>"
        "</device></root>"
    )


def zone_group_state(topology: Topology) -> str:
    """The ZoneGroupState document; each Location is the speaker's exact address."""
    groups = []
    for group in topology.groups:
        members = "".join(
            f"<ZoneGroupMember UUID={attr(m.uid)} Location={attr(m.location)} ZoneName={attr(m.room)}"
            f' Icon="x-rincon-roomicon:living" Configuration="1" SoftwareVersion="{SOFTWARE_VERSION}"'
            ' BootSeq="10"/>'
            for m in group.members
        )
        group_id = f"{group.coordinator.uid}:{topology.version}"
        groups.append(
            f"<ZoneGroup Coordinator={attr(group.coordinator.uid)} ID={attr(group_id)}>{members}</ZoneGroup>"
        )
    return f"<ZoneGroupState><ZoneGroups>{''.join(groups)}</ZoneGroups><VanishedDevices/></ZoneGroupState>"


def album_art_path(uri: str) -> str:
    """The relative `/getaa` URL a speaker advertises for a library track."""
    return f"/getaa?s=1&u={quote(uri, safe='')}"


def track_didl(track: Track) -> str:
    """DIDL-Lite of a library music track, as TrackMetaData carries it (before escaping)."""
    art = f"<upnp:albumArtURI>{text(album_art_path(track.uri))}</upnp:albumArtURI>" if track.cover else ""
    return (
        f'{_DIDL_OPEN}<item id="-1" parentID="-1" restricted="true">'
        f'<res protocolInfo="x-file-cifs:*:audio/mpeg:*" duration="{hms(track.duration_seconds)}">'
        f"{text(track.uri)}</res><r:streamContent></r:streamContent>{art}"
        f"<dc:title>{text(track.title)}</dc:title><upnp:class>object.item.audioItem.musicTrack</upnp:class>"
        f"<dc:creator>{text(track.artist)}</dc:creator><upnp:album>{text(track.album)}</upnp:album>"
        "</item></DIDL-Lite>"
    )


def household_id_args(household_id: str) -> OutArgs:
    """Out-args of DeviceProperties#GetHouseholdID."""
    return [("CurrentHouseholdID", household_id)]


def zone_group_state_args(topology: Topology) -> OutArgs:
    """Out-args of ZoneGroupTopology#GetZoneGroupState (the document travels as escaped text)."""
    return [("ZoneGroupState", zone_group_state(topology))]


def position_info_args(view: PlaybackView) -> OutArgs:
    """Out-args of AVTransport#GetPositionInfo, in the order a real speaker sends them."""
    if view.is_member:
        # A grouped member plays its coordinator's stream and knows no track of its own.
        uri = f"x-rincon:{view.coordinator_uid}"
        track_no, duration, metadata, rel_time = "0", "", "", "0:00:00"
    elif view.track is None:
        track_no, duration, metadata, uri, rel_time = "0", "0:00:00", "", "", "0:00:00"
    else:
        track_no = "1"
        duration = hms(view.track.duration_seconds)
        metadata = track_didl(view.track)
        uri = view.track.uri
        rel_time = hms(view.position_seconds)
    return [
        ("Track", track_no),
        ("TrackDuration", duration),
        ("TrackMetaData", metadata),
        ("TrackURI", uri),
        ("RelTime", rel_time),
        ("AbsTime", NOT_IMPLEMENTED),
        ("RelCount", MAX_COUNT),
        ("AbsCount", MAX_COUNT),
    ]


def transport_info_args(view: PlaybackView) -> OutArgs:
    """Out-args of AVTransport#GetTransportInfo (a member reports its group's state)."""
    return [
        ("CurrentTransportState", view.state.value),
        ("CurrentTransportStatus", "OK"),
        ("CurrentSpeed", "1"),
    ]


def media_info_args(view: PlaybackView) -> OutArgs:
    """Out-args of AVTransport#GetMediaInfo; library tracks play from the speaker's queue."""
    if view.is_member:
        tracks, uri, medium = "0", f"x-rincon:{view.coordinator_uid}", "NETWORK"
    elif view.track is None:
        tracks, uri, medium = "0", "", "NONE"
    else:
        tracks, uri, medium = "1", f"x-rincon-queue:{view.speaker.uid}#0", "NETWORK"
    return [
        ("NrTracks", tracks),
        ("MediaDuration", NOT_IMPLEMENTED),
        ("CurrentURI", uri),
        ("CurrentURIMetaData", ""),
        ("NextURI", ""),
        ("NextURIMetaData", ""),
        ("PlayMedium", medium),
        ("RecordMedium", NOT_IMPLEMENTED),
        ("WriteStatus", NOT_IMPLEMENTED),
    ]
