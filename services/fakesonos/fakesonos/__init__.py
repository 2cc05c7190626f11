"""An emulated Sonos household that the real, unmodified `soco` library talks to.

Each fake speaker is an HTTP server on its own address (normally `127.0.0.N:1400`) that answers the
UPnP calls soco makes and sends UPnP events; faults can be switched on per speaker and per track. The
in-process API, a JSON control API, scenario files and a load mode drive what the speakers play.
"""

from fakesonos.faults import ArtFault, SpeakerFault
from fakesonos.household import FakeSpeaker, Household, UnknownSpeakerError
from fakesonos.model import Bond, Cover, Source, Track

__all__ = [
    "ArtFault",
    "Bond",
    "Cover",
    "FakeSpeaker",
    "Household",
    "Source",
    "SpeakerFault",
    "Track",
    "UnknownSpeakerError",
]
