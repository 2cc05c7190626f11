"""Demo mode: every zone steps through a small built-in playlist with generated covers."""

from __future__ import annotations

import logging
import threading

from fakesonos.covers import generated_cover
from fakesonos.household import Household
from fakesonos.model import Track

logger = logging.getLogger(__name__)

DEFAULT_DEMO_INTERVAL_SECONDS = 8.0

# (title, artist, album, duration_seconds): made up, a few non-ASCII on purpose.
DEMO_PLAYLIST: tuple[tuple[str, str, str, int], ...] = (
    ("Café Society", "Les Fantômes", "Nuit Blanche", 214),
    ("Northern Lights", "The Glass Owls", "Aurora", 247),
    ("Ñandú", "Banda del Sur", "Pampa Eléctrica", 189),
    ("Paper Satellites", "Mira Vale", "Low Orbit", 263),
    ("Saltwater Radio", "Harbour Kids", "Tidal", 201),
    ("Velvet Engine", "Kite & Kettle", "Steam <Live>", 232),
    ("Midnight Tram", "Tokyo Lanterns", "Line 7", 276),
    ("Sommarnatt", "Fjärilar", "Ljus", 198),
)


def demo_track(index: int) -> Track:
    """The playlist entry at index (wrapping), with its generated cover."""
    title, artist, album, duration_seconds = DEMO_PLAYLIST[index % len(DEMO_PLAYLIST)]
    cover = generated_cover(title, artist, seed=f"{artist}/{album}")
    return Track(title, artist, album, duration_seconds, cover=cover)


def advance(household: Household, step: int) -> None:
    """Give every group coordinator its track for this step; zones start at different points."""
    for offset, group in enumerate(household.topology().groups):
        household.speaker(group.coordinator.uid).set_track(demo_track(step + 3 * offset))


class DemoPlayer:
    """Advances the household's zones every interval until stopped."""

    def __init__(self, household: Household, interval_seconds: float = DEFAULT_DEMO_INTERVAL_SECONDS) -> None:
        if interval_seconds <= 0:
            raise ValueError("interval_seconds must be positive")
        self._household = household
        self._interval_seconds = interval_seconds
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Play the first tracks before returning, then keep changing them in a background thread."""
        self._stop.clear()
        advance(self._household, 0)
        self._thread = threading.Thread(target=self._run, name="fakesonos-demo", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop changing tracks (what plays now keeps playing)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None

    def _run(self) -> None:
        step = 1
        while not self._stop.wait(self._interval_seconds):
            try:
                advance(self._household, step)
            except Exception:
                logger.exception("demo step %d failed", step)
            step += 1
