"""SSDP responder, so `soco.discover()` finds the household where multicast works."""

from __future__ import annotations

import contextlib
import logging
import select
import socket
import struct
import threading
from collections.abc import Sequence
from typing import TYPE_CHECKING

from fakesonos import upnp
from fakesonos.model import SpeakerInfo

if TYPE_CHECKING:
    from fakesonos.household import Household

logger = logging.getLogger(__name__)

SSDP_GROUP = "239.255.255.250"
SSDP_PORT = 1900
MAX_DATAGRAM_BYTES = 2048
ANSWERED_TARGETS = frozenset({upnp.ZONE_PLAYER_URN, "ssdp:all", "upnp:rootdevice"})
SERVER = f"Linux UPnP/1.0 Sonos/{upnp.SOFTWARE_VERSION} (ZPS18)"


def search_target(datagram: bytes) -> str | None:
    """The ST of an `M-SEARCH ... ssdp:discover` datagram (soco sends bare LF lines), else None."""
    text = datagram.decode("utf-8", "replace")
    if not text.startswith("M-SEARCH") or "ssdp:discover" not in text:
        return None
    for line in text.replace("\r\n", "\n").split("\n"):
        name, sep, value = line.partition(":")
        if sep and name.strip().upper() == "ST":
            return value.strip()
    return None


def search_response(info: SpeakerInfo, household_id: str, boot_seq: int) -> bytes:
    """A speaker's reply to an M-SEARCH (under soco's 1024-byte receive buffer)."""
    lines = (
        "HTTP/1.1 200 OK",
        "CACHE-CONTROL: max-age = 1800",
        "EXT:",
        f"LOCATION: {info.location}",
        f"SERVER: {SERVER}",
        f"ST: {upnp.ZONE_PLAYER_URN}",
        f"USN: uuid:{info.uid}::{upnp.ZONE_PLAYER_URN}",
        f"X-RINCON-HOUSEHOLD: {household_id}",
        f"X-RINCON-BOOTSEQ: {boot_seq}",
        "X-RINCON-WIFIMODE: 0",
        "X-RINCON-VARIANT: 1",
    )
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def _try_join(sock: socket.socket, request: bytes) -> bool:
    """Whether the socket joined the group as the ip_mreq(n) request says."""
    try:
        sock.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP, request)
    except OSError as exc:  # an interface without multicast, or down
        logger.debug("SSDP: cannot join on one interface: %s", exc)
        return False
    return True


def multicast_interfaces() -> list[int]:
    """Indexes of the network interfaces other than loopback (Linux names it `lo`)."""
    return [index for index, name in socket.if_nameindex() if name != "lo"]


class SsdpResponder:
    """Answers M-SEARCH for every reachable speaker, from that speaker's own address."""

    def __init__(self, household: Household, interface_addrs: Sequence[str] = ()) -> None:
        self._household = household
        self._interface_addrs = tuple(interface_addrs)
        self._socket: socket.socket | None = None
        self._wake: tuple[socket.socket, socket.socket] | None = None
        self._thread: threading.Thread | None = None
        self.answered = 0  # replies sent, for tests and logs

    def start(self) -> None:
        """Bind UDP 1900 (shared with other responders) and join the SSDP group."""
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM, socket.IPPROTO_UDP)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if hasattr(socket, "SO_REUSEPORT"):
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
            sock.bind(("", SSDP_PORT))
            joined = self._join(sock)
            if not joined:
                raise OSError("could not join the SSDP multicast group on any interface")
        except OSError:
            sock.close()
            raise
        self._socket = sock
        self._wake = socket.socketpair()
        self._thread = threading.Thread(
            target=self._run, args=(sock, self._wake[0]), name="fakesonos-ssdp", daemon=True
        )
        self._thread.start()
        logger.info("SSDP responder joined %s on %d interface(s)", SSDP_GROUP, joined)

    def stop(self) -> None:
        """Stop answering and close the sockets."""
        if self._thread is None or self._wake is None or self._socket is None:
            return
        self._wake[1].send(b"x")
        self._thread.join()
        for each in (*self._wake, self._socket):
            each.close()
        self._thread = self._wake = self._socket = None

    def _join(self, sock: socket.socket) -> int:
        group = socket.inet_aton(SSDP_GROUP)
        requests = (
            [group + socket.inet_aton(addr) for addr in self._interface_addrs]
            if self._interface_addrs
            else [struct.pack("4s4si", group, socket.inet_aton("0.0.0.0"), i) for i in multicast_interfaces()]
        )
        joined = sum(_try_join(sock, request) for request in requests)
        if not joined and not self._interface_addrs:
            # The plain ip_mreq on the kernel's default interface: qemu's user-mode emulation (the
            # arm64 images under `make pi-check`) answers ENODEV to every ip_mreqn above.
            joined = _try_join(sock, group + socket.inet_aton("0.0.0.0"))
        return joined

    def _run(self, sock: socket.socket, wake: socket.socket) -> None:
        while True:
            readable, _, _ = select.select([sock, wake], [], [])
            if wake in readable:
                return
            try:
                datagram, sender = sock.recvfrom(MAX_DATAGRAM_BYTES)
            except OSError:
                continue
            target = search_target(datagram)
            if target in ANSWERED_TARGETS:
                self._answer(sender)

    def _answer(self, sender: tuple[str, int]) -> None:
        household = self._household
        for speaker in household.speakers:
            if not speaker.answers_discovery:
                continue
            reply = search_response(speaker.info, household.household_id, speaker.boot_seq)
            # soco builds SoCo(<source ip>), so the reply must come from the speaker's own address.
            with contextlib.suppress(OSError), socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as out:
                out.bind((speaker.ip, 0))
                out.sendto(reply, sender)
                self.answered += 1
