"""The Sonos boundary: zones from speakers and snapshots from group coordinators, via soco."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import requests
import soco
import soco.config
import soco.discovery
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


def discover_speakers(timeout_seconds: float, household: str = "") -> list[Any]:
    """SSDP discovery, then a scan of the local networks for port 1400; empty when nothing answered."""
    try:
        # soco keeps the first reply that contains this text: a pinned household id skips the others.
        found = soco.discover(timeout=timeout_seconds, household_id=household or "Sonos")
        if not found:
            log.warning("SSDP discovery found no speaker; scanning the local networks (set SONOS_SPEAKERS)")
            found = soco.discovery.scan_network(multi_household=True)
    except _SOCO_ERRORS as err:
        log.warning("speaker discovery failed: %s", err)
        return []
    return list(found or [])


def resolve_zones(
    speakers: Iterable[Any], allow: tuple[str, ...], household: str, *, fresh: bool = False
) -> list[Zone]:
    """Every group of the households the speakers belong to, named after their coordinators.

    soco keeps a household's topology for 5 s; `fresh` reads it again (after a regroup was seen).
    """
    zones: dict[str, Zone] = {}
    households_done: set[str] = set()
    listed: set[str] = set()  # addresses a topology already read lists: asking them adds nothing
    # Speakers that answered before go first, so that one that is offline or hung is not asked at
    # all once another has described its household (each question to it costs a timeout).
    for speaker in sorted(speakers, key=lambda s: getattr(s, "_household_id", None) is None):
        if speaker.ip_address in listed:
            continue
        try:
            speaker_household = speaker.household_id
            if (household and speaker_household != household) or speaker_household in households_done:
                continue
            # One answering speaker describes its whole household, so seeds are only entry points.
            if fresh:
                speaker.zone_group_state.clear_cache()
            groups = speaker.all_groups
            visible = speaker.visible_zones  # from the same cached topology read
            households_done.add(speaker_household)
            listed.update(member.ip_address for group in groups for member in group.members)
            for group in groups:
                zone = _zone_of(group, allow, visible)
                if zone is not None:
                    zones.setdefault(zone.coordinator_uid, zone)
        except _SOCO_ERRORS as err:
            log.warning("speaker %s unavailable while resolving zones: %s", speaker.ip_address, err)
    return list(zones.values())


def _name(speaker: Any) -> str:
    """A speaker's room name as the topology read just filled it in, without asking the speaker.

    soco's `player_name` property first looks up that speaker's own household over the network
    (GetHouseholdID, whose SCPD fetch has a fixed 10 s timeout). For a member that is offline or
    hung, one answering speaker's topology read then failed or stalled the poll loop (found by the
    chaos campaign). The topology read sets `_player_name` on every member it lists.
    """
    return str(getattr(speaker, "_player_name", None) or speaker.uid)


def _zone_of(group: Any, allow: tuple[str, ...], visible: set[Any]) -> Zone | None:
    coordinator = group.coordinator
    if coordinator is None:
        return None
    name = _name(coordinator)
    zone_id = zone_id_for(name, coordinator.uid)
    if allow and name not in allow and zone_id not in allow:
        return None
    # Bonded speakers (the second of a stereo pair, a sub, surrounds) are invisible: not rooms.
    members = tuple(
        sorted(
            (Member(m.uid, _name(m)) for m in group.members if m in visible or m is coordinator),
            key=lambda m: m.name,
        )
    )
    return Zone(zone_id, name, coordinator.uid, members, coordinator)


def read_snapshot(zone: Zone) -> Snapshot:
    """Track, transport and media info from the zone's coordinator."""
    try:
        track = zone.coordinator.get_current_track_info()
        transport = zone.coordinator.get_current_transport_info()
        media = zone.coordinator.get_current_media_info()
    except _SOCO_ERRORS as err:
        raise SpeakerUnavailable(f"{zone.name} ({zone.coordinator.ip_address}): {err}") from err
    return Snapshot.from_soco(track, transport, media)
