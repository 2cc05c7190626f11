"""Real image bytes for tests, made with Pillow."""

from __future__ import annotations

import io

from PIL import Image


def jpeg_bytes(width: int = 640, height: int = 640, colour: tuple[int, int, int] = (200, 40, 90)) -> bytes:
    """A baseline JPEG with gradients across and down, so it is not trivially compressible."""
    with (
        Image.linear_gradient("L").resize((width, height)) as down,
        Image.linear_gradient("L").resize((height, width)) as gradient,
        gradient.transpose(Image.Transpose.ROTATE_90) as across,
        Image.merge("RGB", (down, across, Image.new("L", (width, height), colour[2]))) as image,
    ):
        out = io.BytesIO()
        image.save(out, format="JPEG", quality=90)
        return out.getvalue()


def is_baseline_jpeg(data: bytes) -> bool:
    """True when the JPEG has a baseline (SOF0/SOF1) frame and no progressive (SOF2) one."""
    markers = set()
    i = 2
    while i + 4 <= len(data) and data[i] == 0xFF:
        marker = data[i + 1]
        if marker == 0xDA:  # start of scan: frame headers are all before it
            break
        markers.add(marker)
        i += 2 + int.from_bytes(data[i + 2 : i + 4], "big")
    return bool(markers & {0xC0, 0xC1}) and 0xC2 not in markers
