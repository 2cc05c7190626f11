"""Fuzzing a real gunicorn with hostile paths, query strings and headers.

Whatever arrives: never a 5xx, never a stack trace or an internal path, and any image body is the
bytes of a file under ARTWORK_DIR/art; a secret planted outside it (also reachable by a symlink
with a valid rendition name, and by a zone whose stored path points at it) never comes back.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from contract.layout import rendition_name
from contract.profiles import BUILTIN_PROFILES
from harness.gunicorn import ArtworkServer, make_zone, running_artwork, seed_zone, write_rendition
from harness.redis_server import RedisServer

SECRET = b"BM-top-secret-bytes-outside-the-art-directory"
SQUARE = BUILTIN_PROFILES["square720"]
JPEG = BUILTIN_PROFILES["jpeg720"]
MAX_EXAMPLES = 200


@dataclass(frozen=True)
class Target:
    """The running server and what its volume holds."""

    server: ArtworkServer
    servable: frozenset[bytes]
    names: tuple[str, ...]
    internal_path: str


@pytest.fixture(scope="module")
def target(redis_server: RedisServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Target]:
    if not redis_server.running:
        redis_server.start()
    workdir = tmp_path_factory.mktemp("artwork-fuzz")
    artwork_dir = workdir / "artwork"
    (artwork_dir / "art").mkdir(parents=True)
    (workdir / "secret.bmp").write_bytes(SECRET)
    (artwork_dir / "secret.bmp").write_bytes(SECRET)
    square, jpeg = write_rendition(artwork_dir, SQUARE), write_rendition(artwork_dir, JPEG)
    linked = rendition_name("linked", SQUARE)
    (artwork_dir / linked.relpath).parent.mkdir(parents=True, exist_ok=True)
    (artwork_dir / linked.relpath).symlink_to(workdir / "secret.bmp")
    with running_artwork(
        artwork_dir=artwork_dir, redis_url=redis_server.url, log_path=workdir / "gunicorn.log"
    ) as server:
        seed_zone(redis_server.url, make_zone("living-room", {"square720": square, "jpeg720": jpeg}))
        seed_zone(redis_server.url, make_zone("den", {"square720": linked}))
        seed_zone(redis_server.url, make_zone("attic").with_changes(images={"square720": "../secret.bmp"}))
        servable = frozenset(
            p.read_bytes() for p in (artwork_dir / "art").rglob("*") if p.is_file() and not p.is_symlink()
        )
        yield Target(server, servable, (square.filename, jpeg.filename, linked.filename), str(workdir))


SEGMENTS = st.sampled_from(
    [
        "art",
        "zones",
        "api",
        "Adafruit",
        "living-room",
        "den",
        "attic",
        "square720.bmp",
        "jpeg720.jpg",
        "artwork.bmp",
        "artwork_bar.bmp",
        "metadata.json",
        "status",
        "secret.bmp",
        "..",
        ".",
        "%2e%2e",
        "%2E%2e",
        "%2f",
        "%2F..%2F",
        "%00",
        "%5c..%5c",
        "\\..\\",
        "%c0%ae%c0%ae",
        "etc",
        "passwd",
        "",
    ]
)


@st.composite
def paths(draw: st.DrawFn, names: tuple[str, ...]) -> str:
    parts = draw(
        st.lists(
            st.one_of(
                SEGMENTS,
                st.sampled_from(names),
                st.text(max_size=20),
                st.text(alphabet="%0123456789abcdefABCDEF./", max_size=30),
                st.just("a" * 3000),
            ),
            max_size=6,
        )
    )
    return "/" + "/".join(parts)


QUERY = st.one_of(st.just(""), st.text(max_size=40).map(lambda q: "?" + q))
HEADER_VALUE = st.text(alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=60)
HEADERS = st.dictionaries(
    st.sampled_from(["Range", "If-None-Match", "If-Modified-Since", "If-Range", "Origin"]),
    st.one_of(
        HEADER_VALUE,
        st.sampled_from(
            ["bytes=0-10", "bytes=-5", "bytes=5-", "bytes=9999999-", "bytes=1-2,4-5", "*", 'W/"x"']
        ),
        st.sampled_from(["Tue, 24 Nov 2026 10:00:00 GMT", "Thu, 01 Jan 1970 00:00:00 GMT", "garbage"]),
    ),
)


def _raw_request(port: int, method: str, target: bytes, headers: dict[str, str]) -> tuple[int, str, bytes]:
    head = b"%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n" % (method.encode(), target)
    head += b"".join(f"{k}: {v}\r\n".encode("latin-1") for k, v in headers.items())
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(head + b"\r\n")
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    raw = b"".join(chunks)
    header_block, _, body = raw.partition(b"\r\n\r\n")
    lines = header_block.decode("latin-1").split("\r\n")
    content_type = next(
        (ln.split(":", 1)[1].strip() for ln in lines[1:] if ln.lower().startswith("content-type:")), ""
    )
    return int(lines[0].split()[1]), content_type, body


@pytest.mark.timeout(180)
def test_no_request_gets_a_5xx_or_any_byte_from_outside_the_art_directory(target: Target):
    @settings(
        max_examples=MAX_EXAMPLES,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(
        method=st.sampled_from(["GET", "HEAD"]),
        path=paths(target.names),
        query=QUERY,
        headers=HEADERS,
        raw_unicode=st.booleans(),
    )
    def check(method: str, path: str, query: str, headers: dict[str, str], raw_unicode: bool) -> None:
        text = path + query
        # Either raw UTF-8 on the wire, or every non-ASCII/space/control byte percent-encoded.
        request_target = text.encode() if raw_unicode else _percent_encode(text)
        status, content_type, body = _raw_request(target.server.port, method, request_target, headers)

        assert status < 500, (status, request_target, body[:200])
        assert SECRET not in body
        assert b"Traceback" not in body
        assert target.internal_path.encode() not in body
        if status in (200, 206) and content_type.startswith("image/") and method == "GET":
            assert any(body in data for data in target.servable), request_target

    check()


def _percent_encode(text: str) -> bytes:
    return b"".join(
        bytes([b]) if 0x21 <= b <= 0x7E and b not in b"#" else b"%%%02X" % b for b in text.encode()
    )


def test_the_fuzzed_names_exist(target: Target):
    """A guard: the planted renditions and the symlink are where the fuzzer looks."""
    server = target.server
    assert server.request(f"/art/{target.names[0]}").status == 200
    assert server.request(f"/art/{target.names[2]}").status == 404  # the symlink
    assert server.request("/zones/den/square720.bmp").status == 404
    assert server.request("/zones/attic/square720.bmp").status == 404
    assert Path(target.internal_path).is_dir()
