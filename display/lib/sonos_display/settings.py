"""The client's settings, from settings.toml (CircuitPython's os.getenv) or the environment."""

DEFAULT_POLL_SECONDS = 2
DEFAULT_IDLE_DIM_MINUTES = 10
DEFAULT_RELOAD_MINUTES = 10
WAIT_SECONDS = 30  # how long one held request may wait on the server (ARTWORK_MAX_WAIT_SECONDS caps it)


class SettingsError(ValueError):
    """A setting is missing or malformed; the message names it and says what is expected."""


class Settings:
    """Everything the client is configured with."""

    def __init__(
        self,
        server,
        zone="",
        panel="square720",
        poll_seconds=DEFAULT_POLL_SECONDS,
        idle_dim_minutes=DEFAULT_IDLE_DIM_MINUTES,
        reload_minutes=DEFAULT_RELOAD_MINUTES,
        ssid="",
        password="",
        wait_seconds=WAIT_SECONDS,
    ):
        self.server = server
        self.zone = zone
        self.panel = panel
        self.poll_seconds = poll_seconds
        self.idle_dim_minutes = idle_dim_minutes
        self.reload_minutes = reload_minutes
        self.ssid = ssid
        self.password = password
        self.wait_seconds = wait_seconds


def _number(getenv, key, default, minimum, maximum):
    value = getenv(key)
    if value is None or value == "":
        return default
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise SettingsError("%s: %r is not a number" % (key, value)) from None
    if not minimum <= number <= maximum:
        raise SettingsError("%s: %r must be from %s to %s" % (key, value, minimum, maximum))
    return number


def read_settings(getenv):
    """Settings from a getenv function (os.getenv reads settings.toml on CircuitPython)."""
    server = (getenv("SONOS_SERVER") or "").strip().rstrip("/")
    if not server.startswith("http://"):
        raise SettingsError("SONOS_SERVER: expected the artwork service's URL, e.g. http://192.168.1.20:8000")
    return Settings(
        server=server,
        zone=(getenv("SONOS_ZONE") or "").strip(),
        panel=(getenv("SONOS_PANEL") or "square720").strip(),
        poll_seconds=_number(getenv, "SONOS_POLL_SECONDS", DEFAULT_POLL_SECONDS, 0.5, 3600),
        idle_dim_minutes=_number(getenv, "SONOS_IDLE_DIM_MINUTES", DEFAULT_IDLE_DIM_MINUTES, 0, 1440),
        reload_minutes=_number(getenv, "SONOS_RELOAD_MINUTES", DEFAULT_RELOAD_MINUTES, 1, 1440),
        ssid=getenv("CIRCUITPY_WIFI_SSID") or "",
        password=getenv("CIRCUITPY_WIFI_PASSWORD") or "",
    )
