"""Sonos now-playing art on an Adafruit Qualia ESP32-S3: copy display/ to the CIRCUITPY drive.

Settings come from settings.toml (see settings.toml.example); the logic is in lib/sonos_display.
"""

import os
import random
import ssl
import time

import adafruit_connection_manager
import adafruit_requests
import socketpool
import supervisor
import wifi
from adafruit_qualia.graphics import Displays, Graphics

from sonos_display.app import Client
from sonos_display.fetch import Fetcher
from sonos_display.netpool import NoDelayPool
from sonos_display.panels import buffer_bytes, choose_panel
from sonos_display.screen import Screen, jpegio
from sonos_display.settings import read_settings

# SONOS_PANEL -> the Qualia display it is.
QUALIA_DISPLAYS = {
    "square720": Displays.SQUARE40,
    "bar320x960": Displays.BAR320X960,
    "square480": Displays.SQUARE34,
    "round480": Displays.ROUND21,
}


class Radio:
    """wifi.radio, with a bounded connect."""

    @property
    def connected(self):
        return wifi.radio.connected

    def connect(self, ssid, password):
        wifi.radio.connect(ssid, password, timeout=10)


def make_session():
    pool = NoDelayPool(socketpool.SocketPool(wifi.radio))
    session = adafruit_requests.Session(pool, ssl.create_default_context())

    def close():
        adafruit_connection_manager.connection_manager_close_all(pool)

    return session, close


settings = read_settings(os.getenv)
panel = choose_panel(settings.panel, has_jpegio=jpegio is not None)
graphics = Graphics(
    QUALIA_DISPLAYS.get(settings.panel, Displays.SQUARE40), default_bg=0x000000, auto_refresh=False
)
screen = Screen(graphics.display)
fetcher = Fetcher(make_session, buffer_bytes(panel))
client = Client(settings, panel, fetcher, screen, Radio(), time.monotonic, random.random, supervisor.reload)
client.run(time.sleep)
