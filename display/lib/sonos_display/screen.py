"""What the panel shows: the picture, an offline mark over it, and the backlight."""

import gc

import displayio

try:
    import jpegio  # a CircuitPython core module since 9.0; the simulator brings a stand-in
except ImportError:
    jpegio = None

OFFLINE_MARK_PIXELS = 24
OFFLINE_MARK_MARGIN = 8
DIM_BRIGHTNESS = 0.1


class BufferReader:
    """A read-only file over part of a buffer, so the BMP loader reads it without a copy."""

    def __init__(self, view):
        self._view = view
        self._position = 0

    def read(self, size=-1):
        end = len(self._view) if size is None or size < 0 else min(len(self._view), self._position + size)
        data = bytes(self._view[self._position : end])
        self._position = end
        return data

    def readinto(self, target):
        end = min(len(self._view), self._position + len(target))
        count = end - self._position
        target[:count] = self._view[self._position : end]
        self._position = end
        return count

    def seek(self, offset, whence=0):
        base = (0, self._position, len(self._view))[whence]
        self._position = max(0, min(len(self._view), base + offset))
        return self._position

    def tell(self):
        return self._position

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def _offline_mark():
    """A small white-on-red square, made by filling, not by drawing pixel by pixel."""
    size = OFFLINE_MARK_PIXELS
    bitmap = displayio.Bitmap(size, size, 2)
    bitmap.fill(1)
    inner = displayio.Bitmap(size - 8, size - 8, 2)  # a white ring: red inside a white border
    palette = displayio.Palette(2)
    palette[0] = 0xC00000
    palette[1] = 0xFFFFFF
    ring = displayio.TileGrid(bitmap, pixel_shader=palette)
    hole = displayio.TileGrid(inner, pixel_shader=palette, x=4, y=4)
    group = displayio.Group(x=OFFLINE_MARK_MARGIN, y=OFFLINE_MARK_MARGIN)
    group.append(ring)
    group.append(hole)
    group.hidden = True
    return group


class Screen:
    """The display's root group: one picture at a time, and the offline mark above it."""

    def __init__(self, display, on_frame=None):
        self.display = display
        self._on_frame = on_frame  # the simulator's: (description) -> None, after each refresh
        self._mark = _offline_mark()
        self._dimmed = False
        self.decodes = 0
        self.description = ""

    def show(self, view, image_format, description):
        """Decode a checked image and put it up; MemoryError leaves the last one (raised again)."""
        gc.collect()
        if image_format == "jpeg":
            decoder = jpegio.JpegDecoder()
            width, height = decoder.open(view)
            bitmap = displayio.Bitmap(width, height, 65535)
            decoder.decode(bitmap)
            shader = displayio.ColorConverter(input_colorspace=displayio.Colorspace.RGB565_SWAPPED)
        else:
            import adafruit_imageload  # noqa: PLC0415 - only the BMP path needs it

            bitmap, shader = adafruit_imageload.load(
                BufferReader(view), bitmap=displayio.Bitmap, palette=displayio.Palette
            )
        self.decodes += 1
        picture = displayio.Group()
        picture.append(displayio.TileGrid(bitmap, pixel_shader=shader))
        old_root = self.display.root_group
        if old_root is not None:
            try:
                old_root.remove(self._mark)  # an object lives in one group at a time
            except ValueError:
                pass
        self.display.root_group = self._rebuild(picture)
        old_root = None
        gc.collect()  # the old bitmap goes now, not at some later allocation
        self._refresh(description)

    def _rebuild(self, picture):
        root = displayio.Group()
        root.append(picture)
        root.append(self._mark)
        return root

    def set_offline(self, offline):
        """Show or hide the offline mark; the picture always stays."""
        if self._mark.hidden != (not offline):
            self._mark.hidden = not offline
            self._refresh(self.description)

    @property
    def offline(self):
        return not self._mark.hidden

    def dim(self, dimmed):
        """Dim the backlight where the board allows (idle); the picture stays."""
        if dimmed == self._dimmed:
            return
        self._dimmed = dimmed
        try:
            self.display.brightness = DIM_BRIGHTNESS if dimmed else 1.0
        except (AttributeError, NotImplementedError, ValueError):
            pass  # a panel without backlight control just stays lit
        self._refresh(self.description)

    def _refresh(self, description):
        self.description = description
        if self.display.root_group is None:
            self.display.root_group = self._rebuild(displayio.Group())
        self.display.refresh()
        if self._on_frame is not None:
            self._on_frame(self)
