"""The zone cache's freshness check: bytes a TCP connection has received, read from the kernel. Real TCP."""

from __future__ import annotations

import socket
import time

import pytest

from artwork.zone_cache import tcp_bytes_received


@pytest.fixture
def connection():
    with socket.create_server(("127.0.0.1", 0)) as listener:
        client = socket.create_connection(listener.getsockname())
        server, _ = listener.accept()
    try:
        yield client, server
    finally:
        client.close()
        server.close()


def _settled(sock: socket.socket, expected: int) -> int | None:
    deadline = time.monotonic() + 2
    while (count := tcp_bytes_received(sock)) != expected and time.monotonic() < deadline:
        time.sleep(0.01)
    return count


def test_it_counts_every_byte_that_arrived_whether_read_or_not(connection):
    client, server = connection
    before = tcp_bytes_received(client)
    assert before is not None
    server.sendall(b"x" * 1234)
    assert _settled(client, before + 1234) == before + 1234
    client.recv(100)  # reading does not change what arrived
    server.sendall(b"y" * 766)
    assert _settled(client, before + 2000) == before + 2000


def test_a_connection_the_peer_closed_has_no_count_so_the_caller_asks_poll(connection):
    client, server = connection
    server.close()
    deadline = time.monotonic() + 2
    while tcp_bytes_received(client) is not None and time.monotonic() < deadline:
        time.sleep(0.01)
    assert tcp_bytes_received(client) is None


def test_a_unix_socket_has_no_count():
    left, right = socket.socketpair()
    with left, right:
        assert tcp_bytes_received(left) is None
