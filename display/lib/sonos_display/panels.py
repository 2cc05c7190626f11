"""Panels: their pixel size, and which of the server's profiles to ask for, best first."""

# name -> (width, height, ((profile, file extension), ...)). JPEG needs the jpegio core module
# (CircuitPython 9+) and is about a sixth of the BMP's bytes; the 8-bit BMP is the fallback.
PANELS = {
    "square720": (720, 720, (("jpeg720", "jpg"), ("square720", "bmp"))),
    "bar320x960": (320, 960, (("bar320x960", "bmp"),)),
    "square480": (480, 480, (("jpeg480", "jpg"), ("square480", "bmp"))),
    "round480": (480, 480, (("round480", "bmp"),)),
}
FORMATS = {"jpg": "jpeg", "jpeg": "jpeg", "bmp": "bmp"}


class Panel:
    """What the client shows on: its size, and the profile (name, extension, format) it asks for."""

    def __init__(self, name, width, height, profile, ext):
        self.name = name
        self.width = width
        self.height = height
        self.profile = profile
        self.ext = ext
        self.format = FORMATS[ext]


def choose_panel(name, has_jpegio):
    """The panel named in SONOS_PANEL: a built-in one, or a custom `profile=WxH.ext` profile."""
    if name in PANELS:
        width, height, choices = PANELS[name]
        for profile, ext in choices:
            if ext == "bmp" or has_jpegio:
                return Panel(name, width, height, profile, ext)
    profile, sep, spec = name.partition("=")
    size, dot, ext = spec.partition(".")
    width, x, height = size.partition("x")
    if sep and dot and x and width.isdigit() and height.isdigit() and ext in FORMATS:
        if FORMATS[ext] == "jpeg" and not has_jpegio:
            raise ValueError("SONOS_PANEL: %s needs jpegio (CircuitPython 9 or later)" % name)
        return Panel(profile, int(width), int(height), profile, ext)
    raise ValueError(
        "SONOS_PANEL: %r is none of %s, nor a custom profile such as panel=800x480.bmp"
        % (name, ", ".join(sorted(PANELS)))
    )


def buffer_bytes(panel):
    """The download buffer, allocated once: an 8-bit BMP with its palette, or a generous JPEG."""
    if panel.format == "bmp":
        return panel.width * panel.height + 2048
    return panel.width * panel.height * 3 // 4
