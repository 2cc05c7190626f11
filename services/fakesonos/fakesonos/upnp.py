"""Pure builders of the UPnP XML a Sonos speaker sends (device description, SCPDs, SOAP bodies)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from urllib.parse import quote
from xml.etree import ElementTree
from xml.sax.saxutils import escape, quoteattr

from contract.timecode import hms
from fakesonos.model import Bond, PlaybackView, Source, SpeakerInfo, Topology, Track, art_token

XML_CONTENT_TYPE = 'text/xml; charset="utf-8"'
SOFTWARE_VERSION = "80.1-00000"
MODEL_NAME = "Sonos One"
MODEL_NUMBER = "S18"
UNKNOWN_ACTION = 401  # UPnP "Invalid Action"
NOT_IMPLEMENTED = "NOT_IMPLEMENTED"
MAX_COUNT = "2147483647"
DEFAULT_BOOT_SEQ = 10
ZONE_PLAYER_URN = "urn:schemas-upnp-org:device:ZonePlayer:1"

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
_PERCENT_RE = re.compile("%[0-9A-F]{2}")
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


def soap_in_args(body: bytes) -> dict[str, str]:
    """The in-args of a SOAP request (`<u:Seek><Unit>REL_TIME</Unit>...`); empty when it is not one."""
    try:
        envelope = ElementTree.fromstring(body)  # noqa: S314 - expat refuses entity expansion bombs
    except ElementTree.ParseError:
        return {}
    action = envelope.find(f"{{{_SOAP_ENV_NS}}}Body/*")
    return {} if action is None else {arg.tag: (arg.text or "") for arg in action}


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
    """The ZoneGroupState document; each Location is the speaker's exact address.

    Bonded speakers appear as real ones do: the second speaker of a stereo pair as an invisible
    member beside its partner (both with `ChannelMapSet`), home-theatre satellites as invisible
    `<Satellite>` children of the room's main speaker (which carries `HTSatChanMapSet`).
    """
    groups = []
    for group in topology.groups:
        members = "".join(
            _zone_group_member(topology, m, group.members, "ZoneGroupMember")
            for m in group.members
            if m.bond is None or not m.bond.is_satellite
        )
        group_id = f"{group.coordinator.uid}:{topology.version}"
        groups.append(
            f"<ZoneGroup Coordinator={attr(group.coordinator.uid)} ID={attr(group_id)}>{members}</ZoneGroup>"
        )
    return f"<ZoneGroupState><ZoneGroups>{''.join(groups)}</ZoneGroups><VanishedDevices/></ZoneGroupState>"


# Channels of each bonded part in a ChannelMapSet / HTSatChanMapSet; a room's main speaker is "LF,RF".
_CHANNELS = {
    None: "LF,RF",
    Bond.RIGHT: "RF,RF",
    Bond.SUB: "SW",
    Bond.SURROUND_LEFT: "LR",
    Bond.SURROUND_RIGHT: "RR",
}


def _zone_group_member(
    topology: Topology, info: SpeakerInfo, members: tuple[SpeakerInfo, ...], element: str
) -> str:
    main_uid = info.bonded_to or info.uid
    bonded = [m for m in members if m.bonded_to == main_uid and m.bond is not None]
    attrs = (
        f"UUID={attr(info.uid)} Location={attr(info.location)} ZoneName={attr(info.room)}"
        f' Icon="x-rincon-roomicon:living" Configuration="1" SoftwareVersion="{SOFTWARE_VERSION}"'
        f' BootSeq="{topology.boot_seqs.get(info.uid, DEFAULT_BOOT_SEQ)}"'
    )
    if info.bond is not None:
        attrs += ' Invisible="1"'
    pair = [m for m in bonded if m.bond is Bond.RIGHT]
    if pair and info.bond in (None, Bond.RIGHT):
        channel_map = ";".join([f"{main_uid}:LF,LF", *(f"{m.uid}:{_CHANNELS[m.bond]}" for m in pair)])
        attrs += f" ChannelMapSet={attr(channel_map)}"
    satellites = [m for m in bonded if m.bond is not None and m.bond.is_satellite]
    if info.bond is None and satellites:
        channel_map = ";".join(f"{m.uid}:{_CHANNELS[m.bond]}" for m in (info, *satellites))
        attrs += f" HTSatChanMapSet={attr(channel_map)}"
        children = "".join(_zone_group_member(topology, m, members, "Satellite") for m in satellites)
        return f"<{element} {attrs}>{children}</{element}>"
    return f"<{element} {attrs}/>"


def album_art_path(uri: str) -> str:
    """The relative `/getaa` URL a speaker advertises for its own tracks and stations."""
    # Real speakers percent-encode with lower-case hex (`x-file-cifs%3a%2f%2f...`).
    encoded = _PERCENT_RE.sub(lambda match: match[0].lower(), quote(uri, safe=""))
    return f"/getaa?s=1&u={encoded}"


def streaming_art_url(art_base_url: str, uri: str) -> str:
    """An absolute CDN-style art URL on the emulator's art server (several `&` to escape)."""
    return f"{art_base_url}/image/{art_token(uri)}.jpg?w=640&h=640&fmt=jpg"


def art_url(track: Track, art_base_url: str) -> str:
    """The albumArtURI a speaker reports for a track ("" when it has none)."""
    if not track.has_art:
        return ""
    if track.source is Source.STREAMING and art_base_url:
        return streaming_art_url(art_base_url, track.uri)
    return album_art_path(track.uri)


def _didl(item: str) -> str:
    return f"{_DIDL_OPEN}{item}</DIDL-Lite>"


def track_didl(track: Track, art_base_url: str = "") -> str:
    """TrackMetaData DIDL-Lite (before escaping) as a real speaker reports each source; "" for none."""
    if track.metadata:
        return track.metadata
    art_uri = art_url(track, art_base_url)
    art = f"<upnp:albumArtURI>{text(art_uri)}</upnp:albumArtURI>" if art_uri else ""
    if track.source is Source.RADIO:
        return _didl(
            '<item id="-1" parentID="-1" restricted="true">'
            f'<res protocolInfo="sonos.com-http:*:application/octet-stream:*">{text(track.uri)}</res>'
            f"<r:streamContent>{text(track.stream_content or '')}</r:streamContent>"
            f"<r:radioShowMd></r:radioShowMd>{art}<dc:title>{text(track.station or track.title)}</dc:title>"
            "<upnp:class>object.item</upnp:class></item>"
        )
    if track.source in (Source.LINE_IN, Source.TV):
        if not track.title:
            return NOT_IMPLEMENTED if track.source is Source.LINE_IN else ""
        icon = "<r:audioInputIcon>linein</r:audioInputIcon>" if track.source is Source.LINE_IN else ""
        return _didl(
            '<item id="-1" parentID="-1" restricted="true">'
            f'<res protocolInfo="{_protocol(track.uri)}:*:audio/unknown:*">{text(track.uri)}</res>'
            f"<r:streamContent></r:streamContent>{icon}<dc:title>{text(track.title)}</dc:title>"
            "<upnp:class>object.item</upnp:class></item>"
        )
    protocol = {
        Source.STREAMING: "sonos.com-spotify:*:audio/x-spotify:*",
        Source.AIRPLAY: "x-sonos-vli:*:audio/unknown:*",
    }.get(track.source, "x-file-cifs:*:audio/mpeg:*")
    return _didl(
        '<item id="-1" parentID="-1" restricted="true">'
        f'<res protocolInfo="{protocol}" duration="{hms(track.duration_seconds)}">{text(track.uri)}</res>'
        f"<r:streamContent></r:streamContent>{art}"
        f"<dc:title>{text(track.title)}</dc:title><upnp:class>object.item.audioItem.musicTrack</upnp:class>"
        f"<dc:creator>{text(track.artist)}</dc:creator><upnp:album>{text(track.album)}</upnp:album>"
        "</item>"
    )


def _protocol(uri: str) -> str:
    return uri.partition(":")[0]


def station_didl(station: str) -> str:
    """CurrentURIMetaData of a radio station; soco reports its dc:title as the channel."""
    return _didl(
        '<item id="R:0/0/0" parentID="R:0/0" restricted="true">'
        f"<dc:title>{text(station)}</dc:title><upnp:class>object.item.audioItem.audioBroadcast</upnp:class>"
        '<desc id="cdudn" nameSpace="urn:schemas-rinconnetworks-com:metadata-1-0/">SA_RINCON65031_</desc>'
        "</item>"
    )


def household_id_args(household_id: str) -> OutArgs:
    """Out-args of DeviceProperties#GetHouseholdID."""
    return [("CurrentHouseholdID", household_id)]


def zone_group_state_args(topology: Topology) -> OutArgs:
    """Out-args of ZoneGroupTopology#GetZoneGroupState (the document travels as escaped text)."""
    return [("ZoneGroupState", zone_group_state(topology))]


def track_duration(track: Track) -> str:
    """TrackDuration: the real length, 0:00:00 for radio and line-in, nothing for TV."""
    if track.has_duration:
        return hms(track.duration_seconds)
    return "" if track.source is Source.TV else "0:00:00"


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
        duration = track_duration(view.track)
        metadata = track_didl(view.track, view.art_base_url)
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
    """Out-args of AVTransport#GetMediaInfo: queue for tracks, the stream itself for live sources."""
    metadata = ""
    if view.is_member:
        tracks, uri, medium = "0", f"x-rincon:{view.coordinator_uid}", "NETWORK"
    elif view.track is None:
        tracks, uri, medium = "0", "", "NONE"
    elif view.track.source in (Source.LIBRARY, Source.STREAMING):
        tracks, uri, medium = "1", f"x-rincon-queue:{view.speaker.uid}#0", "NETWORK"
    else:
        tracks, uri, medium = "1", view.track.uri, "NETWORK"
        if view.track.source is Source.RADIO and (view.track.station or view.track.title):
            metadata = station_didl(view.track.station or view.track.title)
        elif view.track.source is Source.LINE_IN and view.track.title:
            metadata = track_didl(view.track)
    return [
        ("NrTracks", tracks),
        ("MediaDuration", NOT_IMPLEMENTED),
        ("CurrentURI", uri),
        ("CurrentURIMetaData", metadata),
        ("NextURI", ""),
        ("NextURIMetaData", ""),
        ("PlayMedium", medium),
        ("RecordMedium", NOT_IMPLEMENTED),
        ("WriteStatus", NOT_IMPLEMENTED),
    ]


# --- events ---------------------------------------------------------------------------------------

_EVENT_NS = "urn:schemas-upnp-org:event-1-0"
_AVT_NS = "urn:schemas-upnp-org:metadata-1-0/AVT/"
_RCS_NS = "urn:schemas-upnp-org:metadata-1-0/RCS/"
_RINCON_NS = "urn:schemas-rinconnetworks-com:metadata-1-0/"
DEFAULT_VOLUME = 30


def propertyset(properties: OutArgs) -> str:
    """A NOTIFY body: one `e:property` per (name, text); text is escaped once here."""
    body = "".join(f"<e:property><{name}>{text(value)}</{name}></e:property>" for name, value in properties)
    return f'<?xml version="1.0"?><e:propertyset xmlns:e="{_EVENT_NS}">{body}</e:propertyset>'


def _last_change(namespace: str, variables: OutArgs) -> str:
    values = "".join(f"<{name} val={attr(value)}/>" for name, value in variables)
    return (
        f'<Event xmlns="{namespace}" xmlns:r="{_RINCON_NS}"><InstanceID val="0">{values}</InstanceID></Event>'
    )


def av_transport_last_change(view: PlaybackView) -> str:
    """The AVTransport LastChange document; DIDL sits in `val` attributes, so it is escaped twice."""
    position = dict(position_info_args(view))
    media = dict(media_info_args(view))
    live = view.track is not None and not view.track.has_duration
    actions = "Set, Stop, Pause, Play" if live or view.is_member else "Set, Stop, Pause, Play, Next, Previous"
    return _last_change(
        _AVT_NS,
        [
            ("TransportState", view.state.value),
            ("CurrentPlayMode", "NORMAL"),
            ("CurrentCrossfadeMode", "0"),
            ("NumberOfTracks", media["NrTracks"]),
            ("CurrentTrack", position["Track"]),
            ("CurrentSection", "0"),
            ("CurrentTrackURI", position["TrackURI"]),
            ("CurrentTrackDuration", position["TrackDuration"]),
            ("CurrentTrackMetaData", position["TrackMetaData"]),
            ("r:NextTrackURI", ""),
            ("r:NextTrackMetaData", ""),
            ("r:EnqueuedTransportURI", media["CurrentURI"]),
            ("r:EnqueuedTransportURIMetaData", media["CurrentURIMetaData"]),
            ("PlaybackStorageMedium", media["PlayMedium"]),
            ("AVTransportURI", media["CurrentURI"]),
            ("AVTransportURIMetaData", media["CurrentURIMetaData"]),
            ("NextAVTransportURI", ""),
            ("NextAVTransportURIMetaData", ""),
            ("CurrentTransportActions", actions),
            ("r:CurrentValidPlayModes", "SHUFFLE,REPEAT,SHUFFLE_NOREPEAT"),
            ("TransportStatus", "OK"),
            ("r:SleepTimerGeneration", "0"),
            ("r:AlarmRunning", "0"),
            ("r:SnoozeRunning", "0"),
            ("r:RestartPending", "0"),
        ],
    )


def av_transport_event(view: PlaybackView) -> str:
    """NOTIFY body of an AVTransport event."""
    return propertyset([("LastChange", av_transport_last_change(view))])


def rendering_control_event(volume: int = DEFAULT_VOLUME) -> str:
    """NOTIFY body of a RenderingControl event (volume and mute per channel)."""
    values = "".join(
        f'<Volume channel="{channel}" val="{level}"/>'
        for channel, level in (("Master", volume), ("LF", 100), ("RF", 100))
    )
    document = (
        f'<Event xmlns="{_RCS_NS}"><InstanceID val="0">{values}<Mute channel="Master" val="0"/>'
        '<Bass val="0"/><Treble val="0"/><Loudness channel="Master" val="1"/></InstanceID></Event>'
    )
    return propertyset([("LastChange", document)])


def zone_group_topology_event(topology: Topology, info: SpeakerInfo) -> str:
    """NOTIFY body of a ZoneGroupTopology event as one speaker sends it."""
    group = next((g for g in topology.groups if info in g.members), None)
    coordinator = group.coordinator if group is not None else info
    members = group.members if group is not None else (info,)
    return propertyset(
        [
            ("ZoneGroupState", zone_group_state(topology)),
            ("ThirdPartyMediaServersX", ""),
            ("AvailableSoftwareUpdate", ""),
            ("ZoneGroupName", coordinator.room),
            ("ZoneGroupID", f"{coordinator.uid}:{topology.version}"),
            ("ZonePlayerUUIDsInGroup", ",".join(m.uid for m in members)),
        ]
    )
