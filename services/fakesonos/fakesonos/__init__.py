"""An emulated Sonos household that the real, unmodified `soco` library talks to.

Each fake speaker is an HTTP server on its own address (normally `127.0.0.N:1400`) that answers the
UPnP calls soco makes; a JSON control API and a demo mode drive what the speakers play.
"""

from fakesonos.household import FakeSpeaker, Household, UnknownSpeakerError
from fakesonos.model import Cover, Track

__all__ = ["Cover", "FakeSpeaker", "Household", "Track", "UnknownSpeakerError"]
