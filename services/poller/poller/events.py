"""UPnP event subscriptions (AVTransport, ZoneGroupTopology) as wake-up calls; the data is always read afresh.

soco reports several failures silently (an HTTP error on SUBSCRIBE or on renewal raises nothing),
so this module renews subscriptions itself and checks each result instead of trusting auto-renew.
"""

from __future__ import annotations

import atexit
import logging
import queue
import threading
import time
from dataclasses import dataclass
from typing import Any

import requests
import soco.config
import soco.events
import soco.exceptions

from poller.errors import SpeakerUnavailable
from poller.sonos import Zone

log = logging.getLogger(__name__)

_SUBSCRIPTION_ERRORS = (soco.exceptions.SoCoException, requests.RequestException, OSError)
_UNSUBSCRIBE_GRACE_SECONDS = 1.5


def configure_listener(listener_port: int, advertise_ip: str) -> None:
    """Where speakers call back: soco's listener port and, behind NAT, the address to advertise."""
    soco.config.EVENT_LISTENER_PORT = listener_port
    # soco copies the port into its module-level listener when soco.events is imported.
    soco.events.event_listener.requested_port_number = listener_port
    if advertise_ip:
        soco.config.EVENT_ADVERTISE_IP = advertise_ip


@dataclass
class _Live:
    zone_id: str
    subscription: Any  # soco.events.Subscription; untyped library
    subscribed_at: float
    heard: bool = False  # a NOTIFY arrived, so the speaker can reach our listener
    topology: Any = None  # the coordinator's ZoneGroupTopology subscription, when it took one


def topology_change_from(event: Any) -> str | None:
    """The address of the speaker whose NOTIFY tells of a change in grouping; None for any other event.

    The first NOTIFY of a subscription (SEQ 0) only tells how rooms group as it is: no change.
    """
    service = getattr(event, "service", None)
    if getattr(service, "service_type", None) != "ZoneGroupTopology" or getattr(event, "seq", "0") == "0":
        return None
    return str(getattr(getattr(service, "soco", None), "ip_address", ""))


class Subscriptions:
    """AVTransport and ZoneGroupTopology subscriptions per zone coordinator; every NOTIFY lands in `wakeups`.

    No event of AVTransport tells of a room leaving a group: the topology events do, within
    milliseconds instead of at the next periodic group check. They are best effort: a speaker that
    refuses them, or a NOTIFY lost on the way, leaves that check to notice.

    Zone workers subscribe and renew side by side while the loop reads; the lock covers the
    bookkeeping only, never a request to a speaker.
    """

    def __init__(self, wakeups: queue.Queue[Any], requested_timeout_seconds: int) -> None:
        self._wakeups = wakeups
        self._timeout_seconds = requested_timeout_seconds
        self._lock = threading.Lock()
        self._live: dict[str, _Live] = {}  # by zone id
        self._zone_by_sid: dict[str, str] = {}

    def is_live(self, zone_id: str) -> bool:
        """Whether the zone has a working subscription."""
        with self._lock:
            return zone_id in self._live

    def zone_for(self, event: Any) -> str | None:
        """The zone an event belongs to (None for stale subscriptions); marks the zone as heard from."""
        with self._lock:
            zone_id = self._zone_by_sid.get(getattr(event, "sid", None) or "")
            live = self._live.get(zone_id or "")
            if live is not None:
                live.heard = True
            return zone_id

    def unheard_seconds(self, zone_id: str) -> float:
        """How long a live subscription has gone without its first NOTIFY (0 once one arrived)."""
        with self._lock:
            live = self._live.get(zone_id)
        if live is None or live.heard:
            return 0.0
        return time.monotonic() - live.subscribed_at

    def subscribe(self, zone: Zone) -> bool:
        """Subscribe to the coordinator's AVTransport; False when the speaker refused (polling then)."""
        self.drop(zone.zone_id)
        try:
            subscription = zone.coordinator.avTransport.subscribe(
                requested_timeout=self._timeout_seconds, auto_renew=False, event_queue=self._wakeups
            )
        except _SUBSCRIPTION_ERRORS as err:
            raise SpeakerUnavailable(f"{zone.name}: subscribe failed: {err}") from err
        # soco swallows HTTP errors here (403 from UPnP-disabled firmware, 5xx): check, don't trust.
        if not subscription.is_subscribed or not subscription.sid:
            return False
        # Known by its SID before anything else is asked of the speaker: its first NOTIFY, and one
        # for a track that changed at once, may arrive while the topology SUBSCRIBE is under way.
        # Taken for a stale subscription's, they were dropped, and the zone fell back to polling.
        live = _Live(zone.zone_id, subscription, time.monotonic())
        with self._lock:
            self._live[zone.zone_id] = live
            self._zone_by_sid[subscription.sid] = zone.zone_id
        self._take_topology(zone, live)
        return True

    def _take_topology(self, zone: Zone, live: _Live) -> None:
        """Subscribe to the coordinator's topology for a live zone (best effort)."""
        taken = self._subscribe_topology(zone)
        with self._lock:
            if self._live.get(zone.zone_id) is live:
                live.topology, taken = taken, None
        if taken is not None:  # the zone was dropped meanwhile
            _unsubscribe_quietly([taken])

    def _subscribe_topology(self, zone: Zone) -> Any:
        """The coordinator's ZoneGroupTopology subscription, or None when it took none."""
        speaker = zone.coordinator
        try:
            topology = speaker.zoneGroupTopology.subscribe(
                requested_timeout=self._timeout_seconds, auto_renew=False, event_queue=self._wakeups
            )
        except _SUBSCRIPTION_ERRORS as err:
            log.debug("zone %s: no topology events: %s", zone.zone_id, err)
            return None
        if not topology.is_subscribed or not topology.sid:
            return None
        # With it, soco would answer every topology read from what events told it. The periodic
        # group check must keep asking the speakers, so that a lost NOTIFY is noticed in the end:
        # the events only make it sooner.
        try:
            speaker.zone_group_state.remove_subscription(topology)
        except _SUBSCRIPTION_ERRORS as err:  # it reads the household id, which may ask the speaker
            log.debug("zone %s: no topology events: %s", zone.zone_id, err)
            _unsubscribe_quietly([topology])
            return None
        return topology

    def renew(self, zone: Zone) -> bool:
        """Renew now; False when the speaker no longer knows it (it rebooted), raises when unreachable."""
        with self._lock:
            live = self._live.get(zone.zone_id)
        if live is None:
            return False
        subscription = live.subscription
        try:
            subscription.renew(requested_timeout=self._timeout_seconds, strict=True)
        except _SUBSCRIPTION_ERRORS as err:
            self.drop(zone.zone_id)
            raise SpeakerUnavailable(f"{zone.name}: renewal failed: {err}") from err
        if not _renewed(subscription):
            self.drop(zone.zone_id)
            return False
        self._renew_topology(zone, live)
        return True

    def _renew_topology(self, zone: Zone, live: _Live) -> None:
        """Renew the topology subscription, or take one now that the speaker answered (best effort)."""
        topology = live.topology
        if topology is None:
            # soco holds its lock on every NOTIFY while a SUBSCRIBE is under way: only ever send one
            # to a speaker that has just answered, as this renewal was.
            self._take_topology(zone, live)
            return
        # The transport's renewal is the liveness check (a rebooted speaker drops both): this one
        # is renewed only once half its time is gone, which costs an idle household next to nothing.
        if topology.timeout is None or topology.time_left > topology.timeout / 2:
            return
        try:
            topology.renew(requested_timeout=self._timeout_seconds, strict=True)
            if _renewed(topology):
                return
        except _SUBSCRIPTION_ERRORS as err:
            log.debug("zone %s: topology renewal failed: %s", zone.zone_id, err)
        with self._lock:
            if live.topology is topology:
                live.topology = None  # the next renewal the speaker answers takes a new one
        _unsubscribe_quietly([topology])

    def drop(self, zone_id: str) -> None:
        """Forget a zone's subscription and unsubscribe (harmless if the speaker already forgot it)."""
        with self._lock:
            live = self._live.pop(zone_id, None)
            if live is None:
                return
            self._zone_by_sid.pop(live.subscription.sid or "", None)
        _unsubscribe_quietly([live.subscription, *([live.topology] if live.topology is not None else [])])

    def close(self) -> None:
        """Unsubscribe everything, in parallel and within a short grace period (used at shutdown)."""
        with self._lock:
            subscriptions = [
                s for live in self._live.values() for s in (live.subscription, live.topology) if s is not None
            ]
            self._live.clear()
            self._zone_by_sid.clear()
        _unsubscribe_quietly(subscriptions)


def _renewed(subscription: Any) -> bool:
    """Whether a renewal took: a 412 for an unknown SID raises nothing in soco, and leaves the expiry be."""
    return subscription.timeout is not None and subscription.time_left >= subscription.timeout - 1


def _unsubscribe_quietly(subscriptions: list[Any]) -> None:
    """UNSUBSCRIBE each in its own thread; a hung speaker must not hold up shutdown."""
    for subscription in subscriptions:
        # soco registers every subscription's unsubscribe to run at exit. Unsubscribed here, it
        # need not be: the hook would keep each replaced subscription alive for as long as the
        # poller runs, and at exit repeat an UNSUBSCRIBE still under way, one after another, each
        # waiting up to soco's 3 s (SIGTERM then took over 10 s on a busy machine).
        atexit.unregister(subscription.unsubscribe)

    def unsubscribe(subscription: Any) -> None:
        # soco ignores connection errors and 412s on UNSUBSCRIBE and always forgets the SID locally.
        try:
            subscription.unsubscribe(strict=True)
        except _SUBSCRIPTION_ERRORS as err:
            log.debug("unsubscribe %s failed: %s", subscription.sid, err)

    threads = [threading.Thread(target=unsubscribe, args=(s,), daemon=True) for s in subscriptions]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=_UNSUBSCRIBE_GRACE_SECONDS)
