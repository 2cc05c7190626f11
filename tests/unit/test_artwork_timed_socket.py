"""A connection's socket under kernel timeouts: whole files go out, a client that stops reading does not
hold a thread. Real TCP on loopback."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from artwork.worker import TimedSocket

TIMEOUT_SECONDS = 0.3


@pytest.fixture
def connected() -> Iterator[tuple[TimedSocket, socket.socket]]:
    """A server-side TimedSocket in blocking mode, as a worker thread has it, and its client."""
    with socket.create_server(("127.0.0.1", 0)) as listener:
        client = socket.create_connection(listener.getsockname())
        accepted, _ = listener.accept()
    server = TimedSocket.adopt(accepted, TIMEOUT_SECONDS)
    server.setblocking(True)
    try:
        yield server, client
    finally:
        server.close()
        client.close()


def _file(tmp_path: Path, size_bytes: int) -> Path:
    path = tmp_path / "art.bin"
    path.write_bytes(bytes(range(256)) * (size_bytes // 256))
    return path


@pytest.mark.timeout(10)
def test_a_whole_file_goes_out_and_the_file_is_left_after_it(connected, tmp_path: Path):
    server, client = connected
    path = _file(tmp_path, 4 * 1024 * 1024)
    received = bytearray()
    reader = threading.Thread(target=lambda: received.extend(_read_all(client)))
    reader.start()
    with path.open("rb") as file:
        sent = server.sendfile(file, offset=1024)
        position = file.tell()
    server.shutdown(socket.SHUT_WR)
    reader.join(5)

    assert sent == path.stat().st_size - 1024
    assert bytes(received) == path.read_bytes()[1024:]
    assert position == path.stat().st_size


@pytest.mark.timeout(10)
def test_a_client_that_stops_reading_ends_the_send_within_a_few_timeouts(connected, tmp_path: Path):
    server, client = connected
    client.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # fills at once; never read
    path = _file(tmp_path, 16 * 1024 * 1024)
    started = time.monotonic()
    with path.open("rb") as file, pytest.raises(TimeoutError):
        server.sendfile(file)
    # One timeout for the call that filled the buffers, one for the call that got nothing through.
    assert time.monotonic() - started < 4 * TIMEOUT_SECONDS


@pytest.mark.timeout(10)
def test_a_blocking_write_or_read_that_makes_no_progress_gives_up_after_the_timeout(connected):
    server, client = connected
    client.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    started = time.monotonic()
    with pytest.raises(BlockingIOError):  # what handle_request answers as a write timeout
        server.sendall(b"x" * 16 * 1024 * 1024)
    assert time.monotonic() - started < 4 * TIMEOUT_SECONDS
    started = time.monotonic()
    with pytest.raises(BlockingIOError):
        server.recv(1)  # the client sent nothing
    assert TIMEOUT_SECONDS * 0.9 < time.monotonic() - started < 2 * TIMEOUT_SECONDS


def _read_all(sock: socket.socket) -> bytes:
    chunks = []
    while chunk := sock.recv(65536):
        chunks.append(chunk)
    return b"".join(chunks)
