"""Writing album-art responses, healthy or faulty, to an HTTP handler (the I/O edge of art faults)."""

from __future__ import annotations

import threading

from fakesonos.artimages import CONTENT_TYPES, fault_image
from fakesonos.covers import cover_jpeg
from fakesonos.faults import ArtFault
from fakesonos.httpbase import Handler
from fakesonos.model import Track

TEXT_CONTENT_TYPE = "text/plain; charset=utf-8"
DRIP_CHUNK_BYTES = 4
DRIP_INTERVAL_SECONDS = 0.5  # 8 bytes a second: a 30 kB cover takes about an hour
HUGE_BODY_BYTES = 50 * 1024 * 1024
HUGE_CHUNK_BYTES = 64 * 1024


def send_art(handler: Handler, track: Track | None, stopping: threading.Event) -> None:
    """Answer an album-art request for a track (None: nothing known under that URL)."""
    if track is None or not track.has_art:
        handler.send_body(404, b"no album art\n", TEXT_CONTENT_TYPE)
        return
    fault = track.art_fault
    if fault is None:
        assert track.cover is not None  # has_art without a fault means a cover
        handler.send_body(200, track.cover.data, track.cover.content_type, {"Cache-Control": "no-cache"})
    elif fault is ArtFault.NOT_FOUND:
        handler.send_body(404, b"not found\n", TEXT_CONTENT_TYPE)
    elif fault is ArtFault.SERVER_ERROR:
        handler.send_body(500, b"internal server error\n", TEXT_CONTENT_TYPE)
    elif fault is ArtFault.REDIRECT_LOOP:
        handler.send_body(302, b"", TEXT_CONTENT_TYPE, {"Location": handler.path})
    elif fault in (ArtFault.SLOW_DRIP, ArtFault.STALL):
        _send_slowly(handler, _jpeg_of(track), stopping, drip=fault is ArtFault.SLOW_DRIP)
    elif fault in (ArtFault.HUGE_BODY, ArtFault.HUGE_BODY_NO_LENGTH):
        _send_huge(handler, _jpeg_of(track), stopping, with_length=fault is ArtFault.HUGE_BODY)
    else:
        body = fault_image(fault, track.title, track.artist)
        handler.send_body(200, body, CONTENT_TYPES[fault], {"Cache-Control": "no-cache"})


def _jpeg_of(track: Track) -> bytes:
    if track.cover is not None and track.cover.content_type == "image/jpeg":
        return track.cover.data
    return cover_jpeg(track.title, track.artist)


def _send_slowly(handler: Handler, body: bytes, stopping: threading.Event, *, drip: bool) -> None:
    """Promise the whole body, then send a few bytes at a time (drip) or nothing at all (stall)."""
    handler.close_connection = True  # the promised body never completes in time
    _send_headers(handler, "image/jpeg", len(body))
    if handler.command == "HEAD":
        return
    if not drip:
        stopping.wait()
        return
    for start in range(0, len(body), DRIP_CHUNK_BYTES):
        if stopping.wait(DRIP_INTERVAL_SECONDS):
            return
        try:
            handler.wfile.write(body[start : start + DRIP_CHUNK_BYTES])
        except OSError:
            return  # the client gave up


def _send_huge(handler: Handler, head: bytes, stopping: threading.Event, *, with_length: bool) -> None:
    """A real JPEG followed by zeros up to 50 MB, streamed so memory stays small."""
    if not with_length:
        handler.close_connection = True  # without a length, closing the connection ends the body
    _send_headers(handler, "image/jpeg", HUGE_BODY_BYTES if with_length else None)
    if handler.command == "HEAD":
        return
    filler = bytes(HUGE_CHUNK_BYTES)
    try:
        handler.wfile.write(head)
        sent = len(head)
        while sent < HUGE_BODY_BYTES and not stopping.is_set():
            chunk = filler[: HUGE_BODY_BYTES - sent]
            handler.wfile.write(chunk)
            sent += len(chunk)
    except OSError:
        handler.close_connection = True  # the client gave up, as it should


def _send_headers(handler: Handler, content_type: str, length: int | None) -> None:
    handler.send_response(200)
    handler.send_header("Content-Type", content_type)
    if length is not None:
        handler.send_header("Content-Length", str(length))
    else:
        handler.send_header("Connection", "close")
    handler.end_headers()
    handler.wfile.flush()
