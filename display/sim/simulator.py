"""Build the display client on simulated hardware, as display/simulate.py and the tests run it."""

import random
import time

import displayio

from sonos_display.app import Client
from sonos_display.fetch import Fetcher
from sonos_display.panels import buffer_bytes, choose_panel
from sonos_display.screen import Screen
from standins import FrameDisplay, SimRadio, make_session, write_frame


def build(
    settings,
    frames_dir,
    radio=None,
    clock=time.monotonic,
    rng=random.random,
    reload=None,
    log=print,
    jpeg=True,
):
    """The client wired to the simulated hardware; frames go to frames_dir (None: kept in memory).

    `jpeg=False` is firmware without jpegio: the panel then takes the BMP profile.
    """
    panel = choose_panel(settings.panel, has_jpegio=jpeg)
    displayio.release_displays()  # one display at a time, as on the board
    display = FrameDisplay(panel.width, panel.height)
    radio = radio if radio is not None else SimRadio()
    holder = {}

    def on_frame(screen):
        client = holder.get("client")
        number = display.refreshes
        flags = (" [offline]" if screen.offline else "") + (" [dimmed]" if display.brightness < 1 else "")
        since = ""
        if client is not None and client.changed_at_ms:
            since = "; %d ms after the server's change" % (time.time() * 1000 - client.changed_at_ms)
        if frames_dir is not None:
            write_frame(display.frame, frames_dir, number)
        log("frame %06d: %s%s%s" % (number, screen.description or "(nothing yet)", flags, since))

    screen = Screen(display, on_frame)
    fetcher = Fetcher(make_session, buffer_bytes(panel))

    def no_reload():
        raise SystemExit("supervisor.reload() (the board would restart here)")

    client = Client(settings, panel, fetcher, screen, radio, clock, rng, reload or no_reload, log)
    holder["client"] = client
    return client, display
