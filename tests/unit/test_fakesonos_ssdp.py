"""How the SSDP responder joins the multicast group, wherever it runs."""

from __future__ import annotations

import socket

from fakesonos.household import Household
from fakesonos.ssdp import SsdpResponder


class _QemuLikeSocket:
    """Stands in for a socket under qemu's user-mode emulation, which cannot run here: it refuses
    every ip_mreqn (12 bytes, with an interface index) with ENODEV, as the arm64 images do under
    `make pi-check`, and takes a plain ip_mreq (8 bytes)."""

    def __init__(self) -> None:
        self.joined: list[bytes] = []

    def setsockopt(self, level: int, option: int, value: bytes) -> None:
        assert (level, option) == (socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP)
        if len(value) != 8:
            raise OSError(19, "No such device")
        self.joined.append(value)


def test_where_no_interface_can_be_named_the_group_is_joined_on_the_default_one():
    sock = _QemuLikeSocket()
    joined = SsdpResponder(Household())._join(sock)  # type: ignore[arg-type]
    assert joined == 1
    assert sock.joined == [socket.inet_aton("239.255.255.250") + socket.inet_aton("0.0.0.0")]
