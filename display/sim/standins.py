"""Desktop stand-ins for the Qualia's hardware: the Wi-Fi radio, the socket pool and the framebuffer.

Everything else the client uses is the real thing on CPython: Blinka's displayio, Adafruit's
requests, imageload and connection manager. The framebuffer stand-in renders the display's root
group with displayio's own compositor (`fill_area`), as the board's FramebufferDisplay does.
"""

import array
import os
import socket
import ssl

import adafruit_connection_manager
import adafruit_requests
import busdisplay
from displayio._area import Area
from PIL import Image

from sonos_display.netpool import NoDelayPool


class SimRadio:
    """`wifi.radio`: connected unless a test takes it down; connecting fails while it is down."""

    def __init__(self):
        self.up = True
        self.connected = True
        self.connects = 0

    def connect(self, ssid, password):
        self.connects += 1
        if not self.up:
            raise ConnectionError("no access point answers")
        self.connected = True

    def drop(self):
        """The access point goes away: the radio reports disconnected and cannot reconnect."""
        self.up = False
        self.connected = False

    def restore(self):
        self.up = True


def make_session():
    """A requests session over CPython's sockets, and how to close every socket it holds."""
    # CPython's socket module is a socket pool as adafruit_requests sees it.
    pool = NoDelayPool(socket)
    session = adafruit_requests.Session(pool, ssl.create_default_context())

    def close():
        adafruit_connection_manager.connection_manager_close_all(pool)

    return session, close


class FrameDisplay(busdisplay.BusDisplay):
    """A framebuffer display of the panel's size whose `refresh()` renders the root group to pixels."""

    def __init__(self, width, height):
        super().__init__(None, (), width=width, height=height, auto_refresh=False)
        self._brightness = 1.0
        self._frame = None
        self.refreshes = 0

    @property
    def brightness(self):
        return self._brightness

    @brightness.setter
    def brightness(self, value):
        self._brightness = value

    def refresh(self, *, target_frames_per_second=None, minimum_frames_per_second=0):
        """Show the root group as it is now (composited when the frame is looked at)."""
        self.refreshes += 1
        self._frame = None
        self._shown_brightness = self._brightness
        return True

    @property
    def frame(self):
        """The last refreshed frame as an RGB PIL image (composited in Python: about half a second)."""
        if self._frame is None and self.refreshes:
            self._frame = self._composite()
        return self._frame

    def _composite(self):
        """Composite the whole root group, as the board copies it into its framebuffer."""
        width, height = self.width, self.height
        pixels = memoryview(bytearray(width * height * 2))
        mask = memoryview(bytearray(((width * height) // 32 + 1) * 4)).cast("I")
        self._core.fill_area(Area(0, 0, width, height), mask, pixels)
        # displayio's 16-bit output is big-endian RGB565, as panels take it; Pillow reads it
        # little-endian.
        values = array.array("H", bytes(pixels))
        values.byteswap()
        frame = Image.frombuffer("RGB", (width, height), values.tobytes(), "raw", "BGR;16", 0, 1)
        if self._shown_brightness < 1.0:
            frame = frame.point(lambda v: int(v * self._shown_brightness))
        return frame

    def _refresh_area(self, area):
        return True

    def _write(self, command, data):
        pass

    def _release(self):
        pass


def write_frame(frame, directory, number):
    """Write a frame as `000001.png` ... atomically: written to a temp name, then renamed."""
    path = os.path.join(directory, "%06d.png" % number)
    temp = path + ".tmp"
    frame.save(temp, format="PNG")
    os.replace(temp, path)
    return path
