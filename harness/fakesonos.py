"""Fake Sonos households for tests: fresh loopback addresses, unique household ids, clean soco caches."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Callable, Sequence
from typing import Any

import soco
import soco.events

from fakesonos import Bond, Household

DEFAULT_ROOMS = ("Living Room", "Kitchen")


def unique_household_id() -> str:
    """A household id no other test uses, so soco's per-household topology cache never leaks between tests."""
    return "Sonos_" + uuid.uuid4().hex[:26]


def reset_soco() -> None:
    """Forget every SoCo singleton and cached topology."""
    soco.soco_reset()
    # soco_reset() clears this too since 0.32; older releases did not, which broke test isolation.
    soco.SoCo.zone_group_states.clear()


def start_household(
    next_ip: Callable[[], str], rooms: Sequence[str | tuple[str, Bond]] = DEFAULT_ROOMS
) -> Household:
    """A started household with one speaker per room, each on a fresh `127.0.X.N:1400`.

    `("Living Room", Bond.SUB)` after "Living Room" adds a speaker bonded to that room.
    """
    household = Household(unique_household_id())
    for room in rooms:
        if isinstance(room, tuple):
            household.add_speaker(next_ip(), room[0], bond=room[1])
        else:
            household.add_speaker(next_ip(), room)
    return household.start()


def control_request(base_url: str, method: str, path: str, body: object = None) -> tuple[int, Any]:
    """Call the control API; returns (status, decoded JSON) for success and error statuses alike."""
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(
        base_url + path, data=data, method=method, headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        with error:
            return error.code, json.loads(error.read())


def stop_soco_events() -> None:
    """Unsubscribe whatever a test left subscribed and stop soco's process-wide event listener cleanly."""
    for subscription in list(soco.events.subscriptions_map.subscriptions.values()):
        subscription.unsubscribe(strict=False)
        subscription._cancel_subscription()  # also when the speaker is gone: stops auto-renew threads
    listener = soco.events.event_listener
    listener.stop()
    thread = listener._listener_thread
    if thread is not None and not thread.is_alive():
        thread.server.server_close()  # soco never closes its listening socket; pytest would flag it


def subscribe(service: Any, **kwargs: Any) -> Any:
    """`service.subscribe(...)` that insists it worked (soco reports HTTP errors only as is_subscribed)."""
    subscription = service.subscribe(**kwargs)
    assert subscription.is_subscribed, f"SUBSCRIBE to {service.base_url} failed"
    return subscription


def metadata_art(track_info: dict[str, str]) -> str:
    """upnp:albumArtURI from get_current_track_info()'s raw metadata (soco ignores it for radio)."""
    if not track_info["metadata"].startswith("<"):
        return ""
    return (
        ET.fromstring(track_info["metadata"]).findtext(
            ".//{urn:schemas-upnp-org:metadata-1-0/upnp/}albumArtURI"
        )
        or ""
    )
