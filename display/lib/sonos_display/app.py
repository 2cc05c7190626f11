"""The client's loop: stay connected, wait for the zone to change, put the new cover up, never blank."""

import gc

from sonos_display.decisions import (
    SOCKET_ERRORS_BEFORE_RESET,
    BadImage,
    art_url,
    backoff_seconds,
    idle,
    next_request_delay,
    zone_url,
    zones_url,
)


class Client:
    """One panel following one zone; `step()` does one round and says how long to sleep after it.

    Everything that touches hardware is passed in: the Wi-Fi radio, the HTTP fetcher (its socket
    pool), the screen, the clock, a random source for jitter, and the board's reload.
    """

    def __init__(self, settings, panel, fetcher, screen, radio, clock, random, reload, log=print):
        self.settings = settings
        self.panel = panel
        self.fetcher = fetcher
        self.screen = screen
        self.radio = radio
        self.clock = clock  # -> seconds, monotonic
        self.random = random  # -> a float in [0, 1)
        self.reload = reload  # supervisor.reload on the board
        self.log = log
        self.zone = settings.zone
        self.etag = ""
        self.shown_art = ""  # the immutable URL of what the panel shows
        self.failures = 0  # rounds in a row that failed on the network
        self.socket_errors = 0
        self.last_success = clock()
        self.state = ""
        self.idle_since = None
        self.changed_at_ms = 0  # the server's time of the change the picture shows
        self.requests = 0

    def run(self, sleep, stop=None):
        """Step and sleep until stop() says so (never, on the board)."""
        while stop is None or not stop():
            sleep(self.step())

    def step(self):
        """One round; returns the seconds to sleep before the next."""
        now = self.clock()
        if now - self.last_success > self.settings.reload_minutes * 60:
            self.log("no success for %d minutes: reloading" % self.settings.reload_minutes)
            self.reload()
            return 0.0
        try:
            if not self.radio.connected:
                self.radio.connect(self.settings.ssid, self.settings.password)
            delay = self._round()
        except MemoryError:
            self.fetcher.reset()
            self.etag = ""  # ask for the zone afresh, so the picture is tried again
            gc.collect()
            self.log("out of memory; keeping the last image, trying again")
            return self.settings.poll_seconds
        except (OSError, RuntimeError, ValueError) as error:  # socket, TLS, Wi-Fi and HTTP errors
            return self._failed(error)
        self.failures = 0
        self.socket_errors = 0
        self.last_success = self.clock()
        self.screen.set_offline(False)
        return delay

    def _failed(self, error):
        self.failures += 1
        self.socket_errors += 1
        if self.socket_errors >= SOCKET_ERRORS_BEFORE_RESET:
            self.fetcher.reset()  # a broken socket is never reused
            self.socket_errors = 0
        self.screen.set_offline(True)
        delay = backoff_seconds(self.failures, self.random())
        self.log("offline (%s); again in %.1f s" % (error, delay))
        return delay

    def _round(self):
        if not self.zone:
            self.zone = self._default_zone()
            if not self.zone:
                return self.settings.poll_seconds
        started = self.clock()
        self.requests += 1
        wait = self.settings.wait_seconds
        reply = self.fetcher.json(zone_url(self.settings.server, self.zone, wait), self.etag, wait)
        if reply.status == 404:
            self.log("zone %s unknown to the server" % self.zone)
            self.zone = self.settings.zone  # the default zone may have moved
            self.etag = ""
            return self.settings.poll_seconds
        if reply.status >= 500:
            raise OSError("HTTP %d" % reply.status)
        if reply.status == 200:
            self.etag = reply.etag
            if not self._apply(reply.data):
                self.etag = ""  # the picture was refused: ask again after a pause
                return self.settings.poll_seconds
        self._dim_when_idle()
        return next_request_delay(reply.status, self.clock() - started, wait, self.settings.poll_seconds)

    def _default_zone(self):
        reply = self.fetcher.json(zones_url(self.settings.server), "", 0)
        if reply.status >= 500:
            raise OSError("HTTP %d" % reply.status)
        zone = (reply.data or {}).get("default_zone") or ""
        if not zone:
            self.log("the server knows no zone yet")
        return zone

    def _apply(self, zone):
        """Follow the zone's state; put its picture up if it is a new one. False: it was refused."""
        state = zone.get("state") or ""
        if state != self.state:
            self.state = state
            self.idle_since = self.clock()
        url = art_url(self.settings.server, zone, self.panel.profile)
        if url is None or url == self.shown_art:
            return True  # a state change only: the same picture stays, no download, no decode
        try:
            length = self.fetcher.image(url, self.panel)
        except BadImage as error:
            self.log("not shown: %s" % error)  # the last good image stays up
            return False
        description = zone.get("title") or zone.get("station") or zone.get("name") or self.zone
        self.changed_at_ms = zone.get("updated_at") or 0
        self.screen.show(memoryview(self.fetcher.buffer)[:length], self.panel.format, description)
        self.shown_art = url
        return True

    def _dim_when_idle(self):
        self.screen.dim(idle(self.state, self.idle_since, self.clock(), self.settings.idle_dim_minutes))
