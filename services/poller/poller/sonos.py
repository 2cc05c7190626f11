"""The Sonos boundary: zones from speakers and snapshots from group coordinators, via soco."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import requests
import soco
import soco.config
import soco.exceptions

from contract.zone import Member, zone_id_for
from poller.config import SpeakerAddress
from poller.errors import SpeakerUnavailable
from poller.nowplaying import Snapshot

log = logging.getLogger(__name__)

# Every failure soco can surface for an unreachable or misbehaving speaker (see docs: soco errors).
_SOCO_ERRORS = (
    soco.exceptions.SoCoException,
    requests.RequestException,
    OSError,
    KeyError,
    AttributeError,
    ValueError,
)


@dataclass(frozen=True)
class Zone:
    """A group of speakers as one display sees it, keyed by its coordinator."""

    zone_id: str
    name: str
    coordinator_uid: str
    members: tuple[Member, ...]
    coordinator: Any  # soco.SoCo; untyped library

    @property
    def base_url(self) -> str:
        """HTTP base of the coordinator, for relative album-art URLs."""
        return str(self.coordinator.base_url)


def configure_soco(request_timeout_seconds: float) -> None:
    """Bound every soco request; the default of 20 s would stall the loop on a hung speaker."""
    soco.config.REQUEST_TIMEOUT = request_timeout_seconds


def speakers_from_seeds(seeds: Iterable[SpeakerAddress]) -> list[Any]:
    """SoCo objects for configured addresses (no network traffic yet)."""
    return [soco.SoCo(seed.ip) if seed.port == 1400 else soco.SoCo(seed.ip, seed.port) for seed in seeds]


def discover_speakers(timeout_seconds: float) -> list[Any]:
    """SSDP discovery; empty when nothing answered."""
    try:
        found = soco.discover(timeout=timeout_seconds)
    except _SOCO_ERRORS as err:
        log.warning("SSDP discovery failed: %s", err)
        return []
    return list(found or [])


def resolve_zones(speakers: Iterable[Any], allow: tuple[str, ...], household: str) -> list[Zone]:
    """The distinct groups of the given speakers, named after their coordinators."""
    zones: dict[str, Zone] = {}
    for speaker in speakers:
        try:
            if household and speaker.household_id != household:
                continue
            group = speaker.group
            coordinator = group.coordinator if group is not None else None
            if coordinator is None or coordinator.uid in zones:
                continue
            name = coordinator.player_name or coordinator.uid
            if allow and name not in allow and zone_id_for(name, coordinator.uid) not in allow:
                continue
            members = tuple(
                sorted((Member(m.uid, m.player_name or m.uid) for m in group.members), key=lambda m: m.name)
            )
            zones[coordinator.uid] = Zone(
                zone_id_for(name, coordinator.uid), name, coordinator.uid, members, coordinator
            )
        except _SOCO_ERRORS as err:
            log.warning("speaker %s unavailable while resolving zones: %s", speaker.ip_address, err)
    return list(zones.values())


def read_snapshot(zone: Zone) -> Snapshot:
    """Track, transport and media info from the zone's coordinator."""
    try:
        track = zone.coordinator.get_current_track_info()
        transport = zone.coordinator.get_current_transport_info()
        media = zone.coordinator.get_current_media_info()
    except _SOCO_ERRORS as err:
        raise SpeakerUnavailable(f"{zone.name} ({zone.coordinator.ip_address}): {err}") from err
    return Snapshot.from_soco(track, transport, media)
