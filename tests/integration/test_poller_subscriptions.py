"""The poller's event subscriptions against fakesonos, through real soco."""

from __future__ import annotations

import gc
import queue
import time
import weakref
from collections.abc import Callable
from typing import Any

import pytest
import soco.events

from fakesonos import Household
from poller.config import SpeakerAddress
from poller.events import Subscriptions, topology_change_from
from poller.sonos import resolve_zones, speakers_from_seeds

pytestmark = [pytest.mark.timeout(30), pytest.mark.usefixtures("soco_events")]


# The full collection below also finalizes sockets that fakesonos' HTTP server leaves to the
# collector once their clients are gone: not what this test is about.
@pytest.mark.filterwarnings("ignore::ResourceWarning", "ignore::pytest.PytestUnraisableExceptionWarning")
def test_a_replaced_subscription_is_let_go_not_kept_until_the_poller_exits(
    fake_household: Callable[..., Household],
):
    # Every speaker reboot or lost renewal replaces a zone's subscription: over weeks, many of them.
    household = fake_household("Living Room")
    speaker = household.speaker("living-room")
    (zone,) = resolve_zones(speakers_from_seeds([SpeakerAddress(speaker.ip)]), (), "")
    subscriptions = Subscriptions(queue.Queue(), requested_timeout_seconds=60)

    assert subscriptions.subscribe(zone)
    # soco's map of live SIDs: the zone's AVTransport subscription (and its topology one)
    (only,) = (
        s
        for s in soco.events.subscriptions_map.subscriptions.values()
        if s.service.service_type == "AVTransport"
    )
    first: Any = weakref.ref(only)
    del only
    assert subscriptions.subscribe(zone)  # drops the first, as a resubscription does
    subscriptions.close()
    gc.collect()

    assert first() is None, "something still holds the dropped subscription (soco's exit hook?)"
    assert speaker.subscriptions == ()


def test_a_notify_that_arrives_while_the_topology_subscription_is_under_way_is_the_zones(
    fake_household: Callable[..., Household],
):
    # A room that leaves a group and at once changes track: the first NOTIFY of its new
    # subscription, and the one for the track, came in while the topology SUBSCRIBE was still under
    # way. Taken for a stale subscription's, they were dropped and the zone fell back to polling.
    household = fake_household("Kitchen")
    (zone,) = resolve_zones(speakers_from_seeds([SpeakerAddress(household.speaker("kitchen").ip)]), (), "")
    wakeups: queue.Queue[Any] = queue.Queue()
    claimed: list[str | None] = []

    class TopologyAfterTheFirstNotify(Subscriptions):
        def _subscribe_topology(self, zone: Any) -> Any:
            claimed.append(self.zone_for(wakeups.get(timeout=5)))  # the AVTransport's first NOTIFY
            return super()._subscribe_topology(zone)

    subscriptions = TopologyAfterTheFirstNotify(wakeups, requested_timeout_seconds=60)
    try:
        assert subscriptions.subscribe(zone)
        assert claimed == ["kitchen"]
        assert subscriptions.unheard_seconds("kitchen") == 0.0
    finally:
        subscriptions.close()


def _topology_changes(wakeups: queue.Queue[Any], within_seconds: float) -> list[str]:
    """Who told of a change in grouping within the time (the queue holds other events too)."""
    found, deadline = [], time.monotonic() + within_seconds
    while (left := deadline - time.monotonic()) > 0:
        try:
            event = wakeups.get(timeout=left)
        except queue.Empty:
            break
        sender = topology_change_from(event)
        if sender is not None:
            found.append(sender)
    return found


def test_a_zone_hears_of_a_room_leaving_its_group_from_the_topology_events(
    fake_household: Callable[..., Household],
):
    household = fake_household("Living Room", "Kitchen")
    living = household.speaker("living-room")
    household.group("living-room", ["kitchen"])
    zones = resolve_zones(speakers_from_seeds([SpeakerAddress(living.ip)]), (), "")
    (zone,) = [z for z in zones if z.zone_id == "living-room"]
    wakeups: queue.Queue[Any] = queue.Queue()
    subscriptions = Subscriptions(wakeups, requested_timeout_seconds=60)
    try:
        assert subscriptions.subscribe(zone)
        assert sorted(s.service for s in living.subscriptions) == ["AVTransport", "ZoneGroupTopology"]
        # The first NOTIFY of each only tells how things are: no change.
        assert _topology_changes(wakeups, 0.5) == []

        household.ungroup("kitchen")  # nothing the living room plays changes

        assert _topology_changes(wakeups, 3.0) == [living.ip], "no topology event told of the kitchen leaving"
        assert subscriptions.renew(zone)
        assert sorted(s.service for s in living.subscriptions) == ["AVTransport", "ZoneGroupTopology"]
    finally:
        subscriptions.close()
    assert living.subscriptions == ()


def test_topology_events_leave_soco_asking_the_speakers_how_rooms_group(
    fake_household: Callable[..., Household],
):
    # soco answers topology reads from its event-fed copy while it tracks a topology subscription;
    # a lost NOTIFY would then hide a regroup from the periodic check for good.
    household = fake_household("Living Room")
    speaker = household.speaker("living-room")
    (zone,) = resolve_zones(speakers_from_seeds([SpeakerAddress(speaker.ip)]), (), "")
    subscriptions = Subscriptions(queue.Queue(), requested_timeout_seconds=60)
    try:
        assert subscriptions.subscribe(zone)
        assert "ZoneGroupTopology" in {s.service for s in speaker.subscriptions}

        assert not zone.coordinator.zone_group_state.has_subscriptions
    finally:
        subscriptions.close()


def test_the_topology_subscription_is_renewed_only_once_half_its_time_is_gone(
    fake_household: Callable[..., Household],
):
    # The transport's is renewed every liveness interval (a reboot shows there); this one would only
    # cost an idle household a request per zone each time.
    household = fake_household("Living Room")
    speaker = household.speaker("living-room")
    (zone,) = resolve_zones(speakers_from_seeds([SpeakerAddress(speaker.ip)]), (), "")
    subscriptions = Subscriptions(queue.Queue(), requested_timeout_seconds=4)

    def expiries() -> dict[str, float]:
        return {s.service: s.expires_monotonic for s in speaker.subscriptions}

    try:
        assert subscriptions.subscribe(zone)
        first = expiries()
        assert subscriptions.renew(zone)
        at_once = expiries()
        time.sleep(2.3)
        assert subscriptions.renew(zone)
        later = expiries()
    finally:
        subscriptions.close()

    assert at_once["AVTransport"] > first["AVTransport"]
    assert at_once["ZoneGroupTopology"] == first["ZoneGroupTopology"]
    assert later["ZoneGroupTopology"] > first["ZoneGroupTopology"]
