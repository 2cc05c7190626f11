"""Fake Sonos households for tests: fresh loopback addresses, unique household ids, clean soco caches."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Sequence
from typing import Any

import soco

from fakesonos import Household

DEFAULT_ROOMS = ("Living Room", "Kitchen")


def unique_household_id() -> str:
    """A household id no other test uses, so soco's per-household topology cache never leaks between tests."""
    return "Sonos_" + uuid.uuid4().hex[:26]


def reset_soco() -> None:
    """Forget every SoCo singleton and cached topology."""
    soco.soco_reset()
    # soco_reset() clears this too since 0.32; older releases did not, which broke test isolation.
    soco.SoCo.zone_group_states.clear()


def start_household(next_ip: Callable[[], str], rooms: Sequence[str] = DEFAULT_ROOMS) -> Household:
    """A started household with one speaker per room, each on a fresh `127.0.X.N:1400`."""
    household = Household(unique_household_id())
    for room in rooms:
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
