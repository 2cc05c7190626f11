"""The household's side: track changes, regroups and speaker faults through fakesonos' control API.

Every change that fakesonos accepted is recorded with the time it answered: that record is what
the observer holds the stack to.
"""

from __future__ import annotations

import http.client
import json
import threading
from collections.abc import Sequence
from typing import Any

from bench.chaos.invariants import Change, change_title
from bench.chaos.observer import ObserverError, Record
from bench.chaos.schedule import PlannedChange, PlannedGroup

COVER_PIXELS = 640


class Household:
    """Drives fakesonos; `member` is the room that joins `coordinator`'s group now and then."""

    def __init__(self, control_port: int, record: Record, zones: Sequence[str]) -> None:
        self.port = control_port
        self.record = record
        self.zones = tuple(zones)
        self.coordinator, self.member = self.zones[0], self.zones[1]
        self.changes: list[Change] = []
        self.grouped: list[tuple[float, float]] = []
        self._seq = dict.fromkeys(self.zones, 0)
        self._is_grouped = False
        self._lock = threading.Lock()  # one change per zone at a time, numbered in order

    def post(self, path: str, body: dict[str, Any]) -> dict[str, Any] | list[Any]:
        """POST JSON to the control API; ObserverError unless it answers 200."""
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=15)
        try:
            connection.request("POST", path, json.dumps(body), {"Content-Type": "application/json"})
            response = connection.getresponse()
            payload = response.read()
        except (OSError, http.client.HTTPException) as err:
            raise ObserverError(f"fakesonos control POST {path}: {err}") from err
        finally:
            connection.close()
        if response.status != 200:
            raise ObserverError(f"fakesonos control POST {path}: {response.status} {payload[:200]!r}")
        answer: dict[str, Any] | list[Any] = json.loads(payload)
        return answer

    def playing_zones(self) -> list[str]:
        """Zones that play on their own now (the member room does not while grouped)."""
        with self._lock:
            return [z for z in self.zones if not (self._is_grouped and z == self.member)]

    def change(self, zone: str, source: str = "library", art_fault: str | None = None) -> Change | None:
        """A new track on `zone`, numbered; None when the zone plays another group's track now."""
        with self._lock:
            if self._is_grouped and zone == self.member:
                return None
            seq = self._seq[zone] + 1
            title = change_title(zone, seq)
            cover = {"size": COVER_PIXELS, "seed": f"{zone}/{seq}"}
            body: dict[str, Any] = {"title": title, "artist": "Chaos Artist", "album": f"Album {seq % 7}"}
            body |= {"source": source, "cover": cover}
            if source == "radio":
                body |= {"station": "Chaos FM", "stream_content": f"Chaos Artist - {title}"}
            if art_fault:
                body["art_fault"] = art_fault
            self.post(f"/speakers/{zone}/track", body)
            self._seq[zone] = seq
            made = Change(self.record.now(), zone, seq)
            self.changes.append(made)
            return made

    def group(self) -> None:
        """The member room joins the coordinator's group."""
        with self._lock:
            self.post("/groups", {"coordinator": self.coordinator, "members": [self.member]})
            self._is_grouped = True
            self.grouped.append((self.record.now(), float("inf")))

    def ungroup(self) -> None:
        """The member room leaves and plays on its own again."""
        with self._lock:
            self.post(f"/speakers/{self.member}/ungroup", {})
            self._is_grouped = False
            start, _ = self.grouped[-1]
            self.grouped[-1] = (start, self.record.now())
        self.change(self.member)

    def speaker_fault(self, zone: str, fault: str | None) -> None:
        """OFFLINE, HANG, UPNP_DISABLED, or None to clear."""
        self.post(f"/speakers/{zone}/fault", {"fault": fault})

    def reboot(self, zone: str, down_seconds: float) -> None:
        """The speaker goes away for `down_seconds` and comes back with a new boot id."""
        self.post(f"/speakers/{zone}/reboot", {"down_seconds": down_seconds})


def drive(
    household: Household,
    changes: Sequence[PlannedChange],
    groups: Sequence[PlannedGroup],
    stop: threading.Event,
) -> None:
    """Make the planned changes and regroups on time, until the plan ends or `stop`."""
    steps: list[tuple[float, int, object]] = [(c.at_seconds, 1, c) for c in changes]
    for group in groups:
        steps += [(group.at_seconds, 0, "group"), (group.at_seconds + group.seconds, 0, "ungroup")]
    try:
        for at, _, step in sorted(steps, key=lambda s: (s[0], s[1])):
            if stop.wait(max(0.0, at - household.record.now())):
                return
            if step == "group":
                household.group()
            elif step == "ungroup":
                household.ungroup()
            elif isinstance(step, PlannedChange):
                household.change(household.zones[step.zone], step.source)
    except ObserverError as err:
        household.record.failures.append(err)
        stop.set()
