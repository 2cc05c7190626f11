"""Pure decisions of the client: which URL, how long to wait, whether a body can be shown."""

BACKOFF_FIRST_SECONDS = 1.0
BACKOFF_MAX_SECONDS = 60.0
SOCKET_ERRORS_BEFORE_RESET = 3  # after this many in a row the socket pool is thrown away
HELD_EARLY_FRACTION = 0.5  # a 304 sooner than this share of the wait: the server does not hold


def quote_path(text):
    """Percent-encode what a URL path segment may not hold (zone ids are slugs; this is a guard)."""
    safe = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.~"
    return "".join(c if c in safe else "%%%02X" % ord(c) for c in text)


def zone_url(server, zone, wait_seconds):
    """The zone's JSON, held by the server up to wait_seconds (0: answered at once)."""
    url = server + "/api/zones/" + quote_path(zone)
    return url + ("?wait=%d" % wait_seconds if wait_seconds else "")


def zones_url(server):
    """The zone list, which names the server's default zone."""
    return server + "/api/zones"


def art_url(server, zone_json, profile):
    """The immutable URL of the zone's rendition for a profile, or None when it has none."""
    path = (zone_json.get("art_urls") or {}).get(profile)
    return server + path if path else None


def backoff_seconds(failures, random_fraction):
    """Jittered exponential backoff: 1 s, 2 s, 4 s ... up to 60 s, each between half and all of it."""
    if failures <= 0:
        return 0.0
    ceiling = min(BACKOFF_MAX_SECONDS, BACKOFF_FIRST_SECONDS * (2 ** (failures - 1)))
    return ceiling * (0.5 + 0.5 * random_fraction)


def next_request_delay(status, elapsed_seconds, wait_seconds, poll_seconds):
    """Seconds to wait before asking again: none after a held answer, the poll interval otherwise.

    A server that holds `?wait=` answers 304 only when the wait is over; one that answers sooner
    (an older server, or a full waiter list) is polled every SONOS_POLL_SECONDS instead.
    """
    if status == 200:
        return 0.0
    if status == 304 and wait_seconds and elapsed_seconds >= wait_seconds * HELD_EARLY_FRACTION:
        return 0.0
    return poll_seconds


def idle(state, idle_since, now, idle_dim_minutes):
    """Whether the panel should dim: paused or stopped for SONOS_IDLE_DIM_MINUTES (0: never)."""
    if not idle_dim_minutes or state not in ("PAUSED_PLAYBACK", "STOPPED") or idle_since is None:
        return False
    return now - idle_since >= idle_dim_minutes * 60


class BadImage(ValueError):
    """A body that must not be decoded; the message says why (it is logged, the last image stays)."""


_CONTENT_TYPES = {"jpeg": "image/jpeg", "bmp": "image/bmp"}


def check_headers(content_type, content_length, expected_format, buffer_bytes):
    """Refuse a body before reading it: wrong type, unknown or too large a length."""
    media_type = (content_type or "").split(";")[0].strip().lower()
    if media_type != _CONTENT_TYPES[expected_format]:
        raise BadImage("Content-Type %r, expected %s" % (content_type, _CONTENT_TYPES[expected_format]))
    if content_length is None:
        raise BadImage("no Content-Length")
    if not 0 < content_length <= buffer_bytes:
        raise BadImage("Content-Length %d outside 1..%d" % (content_length, buffer_bytes))


def image_size(data, expected_format):
    """(width, height) from the image's own header; BadImage for another format or progressive JPEG."""
    if expected_format == "bmp":
        if len(data) < 26 or data[0:2] != b"BM":
            raise BadImage("not a BMP")
        width = int.from_bytes(data[18:22], "little")
        height = int.from_bytes(data[22:26], "little")
        if height >= 1 << 31:
            height = (1 << 32) - height  # top-down BMP
        return width, height
    if len(data) < 4 or data[0:3] != b"\xff\xd8\xff":
        raise BadImage("not a JPEG")
    index = 2
    while index + 9 < len(data):
        if data[index] != 0xFF:
            raise BadImage("broken JPEG marker at byte %d" % index)
        marker = data[index + 1]
        if marker == 0xFF:
            index += 1
            continue
        if marker in (0xC2, 0xC6, 0xCA, 0xCE):
            raise BadImage("progressive JPEG: jpegio decodes baseline only")
        length = (data[index + 2] << 8) | data[index + 3]
        if marker in (0xC0, 0xC1):
            height = (data[index + 5] << 8) | data[index + 6]
            width = (data[index + 7] << 8) | data[index + 8]
            return width, height
        index += 2 + length
    raise BadImage("no JPEG frame header")


def check_image(data, expected_format, width, height):
    """Refuse a body that is not an image of the panel's format and exact size."""
    size = image_size(data, expected_format)
    if size != (width, height):
        raise BadImage("image of %dx%d, the panel is %dx%d" % (size[0], size[1], width, height))
