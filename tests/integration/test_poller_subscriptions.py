"""The poller's event subscriptions against fakesonos, through real soco."""

from __future__ import annotations

import gc
import queue
import weakref
from collections.abc import Callable
from typing import Any

import pytest
import soco.events

from fakesonos import Household
from poller.config import SpeakerAddress
from poller.events import Subscriptions
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
    (only,) = soco.events.subscriptions_map.subscriptions.values()  # soco's map of live SIDs
    first: Any = weakref.ref(only)
    del only
    assert subscriptions.subscribe(zone)  # drops the first, as a resubscription does
    subscriptions.close()
    gc.collect()

    assert first() is None, "something still holds the dropped subscription (soco's exit hook?)"
    assert speaker.subscriptions == ()
