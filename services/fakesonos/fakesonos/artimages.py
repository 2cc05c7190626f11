"""Album-art bodies for art faults: odd but decodable images, and broken bytes (generated lazily, cached)."""

from __future__ import annotations

import functools
import struct
import zlib

from PIL import Image

from fakesonos.covers import DEFAULT_COVER_SIZE_PIXELS, cover_image, cover_jpeg, encode
from fakesonos.faults import ArtFault

LARGE_SIZE_PIXELS = 3000
# 36 megapixels: just under the poller's default ART_MAX_PIXELS (40 M), so it is decoded, not refused.
HUGE_PIXELS_SIDE_PIXELS = 6000
BOMB_SIZE_PIXELS = 30000  # 900 megapixels claimed: ten times Pillow's decompression-bomb limit
BOMB_DATA_BYTES = 4 * 1024 * 1024  # the compressed zeros actually sent stay a few kilobytes
EXIF_ORIENTATION_TAG = 0x0112
EXIF_ROTATE_90_CW = 6  # "rotate 90 degrees clockwise to display"
EXIF_UPRIGHT_SIZE_PIXELS = (480, 640)  # portrait, so a viewer that ignores the tag shows it landscape
NOT_AN_IMAGE_BODY = b"<!DOCTYPE html><html><body><h1>Login required</h1></body></html>\n"

CONTENT_TYPES = {
    ArtFault.WRONG_CONTENT_TYPE: "application/octet-stream",  # a JPEG labelled like an S3 default
    ArtFault.CMYK_JPEG: "image/jpeg",
    ArtFault.PALETTE_PNG: "image/png",
    ArtFault.ALPHA_PNG: "image/png",
    ArtFault.EXIF_ROTATED: "image/jpeg",
    ArtFault.PROGRESSIVE_JPEG: "image/jpeg",
    ArtFault.LARGE_3000: "image/jpeg",
    ArtFault.BOMB: "image/png",
    ArtFault.HUGE_PIXELS: "image/png",
    ArtFault.TRUNCATED_JPEG: "image/jpeg",
    ArtFault.NOT_AN_IMAGE: "image/jpeg",  # a captive-portal page where a picture was promised
}


@functools.lru_cache(maxsize=16)  # a 3000x3000 image takes a moment; tests fetch the same one repeatedly
def fault_image(fault: ArtFault, title: str, artist: str) -> bytes:
    """The body served for an image-valued or broken-bytes art fault."""
    seed = f"{artist}/{title}/{fault.value}"
    size = (DEFAULT_COVER_SIZE_PIXELS, DEFAULT_COVER_SIZE_PIXELS)
    if fault is ArtFault.WRONG_CONTENT_TYPE:
        return cover_jpeg(title, artist, seed)
    if fault is ArtFault.TRUNCATED_JPEG:
        whole = cover_jpeg(title, artist, seed)
        return whole[: len(whole) // 2]
    if fault is ArtFault.NOT_AN_IMAGE:
        return NOT_AN_IMAGE_BODY
    if fault is ArtFault.BOMB:
        return bomb_png(BOMB_SIZE_PIXELS)
    if fault is ArtFault.HUGE_PIXELS:
        return solid_png(HUGE_PIXELS_SIDE_PIXELS, (0x2E, 0x5E, 0x8E))
    if fault is ArtFault.LARGE_3000:
        size = (LARGE_SIZE_PIXELS, LARGE_SIZE_PIXELS)
    if fault is ArtFault.EXIF_ROTATED:
        return _exif_rotated_jpeg(title, artist, seed)
    with cover_image(title, artist, seed, size) as image:
        return _encode_as(fault, image)


def _encode_as(fault: ArtFault, image: Image.Image) -> bytes:
    if fault is ArtFault.CMYK_JPEG:
        with image.convert("CMYK") as cmyk:
            return encode(cmyk, "JPEG")
    if fault is ArtFault.PALETTE_PNG:
        with image.quantize(colors=64) as palette:
            return encode(palette, "PNG")
    if fault is ArtFault.ALPHA_PNG:
        with image.convert("RGBA") as rgba, Image.linear_gradient("L") as ramp:
            with ramp.resize(rgba.size) as alpha:
                rgba.putalpha(alpha)  # transparent at the top, opaque at the bottom
            return encode(rgba, "PNG")
    if fault is ArtFault.PROGRESSIVE_JPEG:
        return encode(image, "JPEG", progressive=True)
    if fault is ArtFault.LARGE_3000:
        return encode(image, "JPEG")
    raise ValueError(f"{fault} has no image body")


def _exif_rotated_jpeg(title: str, artist: str, seed: str) -> bytes:
    # Stored turned a quarter to the left; the EXIF tag tells viewers to turn it back to portrait.
    with (
        cover_image(title, artist, seed, EXIF_UPRIGHT_SIZE_PIXELS) as upright,
        upright.transpose(Image.Transpose.ROTATE_90) as stored,
    ):
        exif = Image.Exif()
        exif[EXIF_ORIENTATION_TAG] = EXIF_ROTATE_90_CW
        return encode(stored, "JPEG", exif=exif.tobytes())


def bomb_png(side_pixels: int) -> bytes:
    """A small, structurally valid greyscale PNG whose header claims side x side pixels."""
    header = struct.pack(">IIBBBBB", side_pixels, side_pixels, 8, 0, 0, 0, 0)
    data = zlib.compress(bytes(BOMB_DATA_BYTES), 9)  # the first rows only: zeros squeeze to nothing
    return b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header) + _chunk(b"IDAT", data) + _chunk(b"IEND", b"")


def solid_png(side_pixels: int, rgb: tuple[int, int, int]) -> bytes:
    """A complete RGB PNG of one colour, compressed row by row (never the whole image in memory)."""
    header = struct.pack(">IIBBBBB", side_pixels, side_pixels, 8, 2, 0, 0, 0)
    row = b"\x00" + bytes(rgb) * side_pixels  # filter byte "none", then the pixels
    deflate = zlib.compressobj(9)
    data = b"".join(deflate.compress(row) for _ in range(side_pixels)) + deflate.flush()
    return b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header) + _chunk(b"IDAT", data) + _chunk(b"IEND", b"")


def _chunk(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))
