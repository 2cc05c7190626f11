"""The artwork app through Flask's test client, against a real Redis and a real art directory."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

import pytest
import redis
from flask import Flask
from flask.testing import FlaskClient
from gunicorn.http.wsgi import FileWrapper  # type: ignore[import-untyped]
from werkzeug.test import EnvironBuilder

from artwork import create_app
from artwork.config import Settings
from artwork.state import services
from contract import layout
from contract.errors import ConfigError
from contract.layout import ArtName, rendition_name
from contract.profiles import BUILTIN_PROFILES, DEFAULT_PROFILES, Profile
from contract.redis_keys import RedisKeys
from harness.gunicorn import Reply, make_zone, seed_raw_zone, seed_zone, write_rendition
from harness.net import free_port
from poller.publisher import RedisPublisher

SQUARE = BUILTIN_PROFILES["square720"]
BAR = BUILTIN_PROFILES["bar320x960"]
JPEG = BUILTIN_PROFILES["jpeg720"]


def _settings(redis_url: str, artwork_dir: Path) -> Settings:
    return Settings.from_env({"REDIS_URL": redis_url, "ARTWORK_DIR": str(artwork_dir)})


@contextmanager
def running_app(settings: Settings | None) -> Iterator[Flask]:
    """An app whose Redis connections are closed afterwards."""
    app = create_app(settings)
    try:
        yield app
    finally:
        services(app).zones.close()


@pytest.fixture
def art_root(artwork_dir: Path) -> Path:
    """The artwork volume with its art directory, as the poller leaves it."""
    (artwork_dir / "art").mkdir()
    return artwork_dir


@pytest.fixture
def app(redis_url: str, art_root: Path) -> Iterator[Flask]:
    with running_app(_settings(redis_url, art_root)) as app:
        yield app


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def down_client(art_root: Path) -> Iterator[FlaskClient]:
    """A client of an app whose Redis URL points at a closed port."""
    with running_app(_settings(f"redis://127.0.0.1:{free_port()}/0", art_root)) as app:
        yield app.test_client()


def fetch(
    client: FlaskClient, path: str, method: str = "GET", headers: Mapping[str, str] | None = None
) -> Reply:
    """One request; the response (and any file it holds) is closed before returning."""
    with client.open(path, method=method, headers=dict(headers or {})) as response:
        body = response.get_data()
        return Reply(response.status_code, {k.lower(): v for k, v in response.headers.items()}, body)


def _json(reply: Reply) -> object:
    assert reply.headers["content-type"] == "application/json"
    return json.loads(reply.body)


@pytest.fixture
def playing(redis_url: str, art_root: Path) -> dict[str, ArtName]:
    """Zone `living-room` playing, with a square BMP and a JPEG on disk."""
    names = {p.name: write_rendition(art_root, p) for p in (SQUARE, JPEG)}
    seed_zone(redis_url, make_zone("living-room", names))
    return names


# --- health ---


def test_liveness_answers_ok_even_without_redis(down_client: FlaskClient):
    reply = fetch(down_client, "/healthz")

    assert reply.status == 200
    assert _json(reply) == {"status": "ok"}


def test_readiness_is_ok_when_redis_answers_and_the_art_directory_is_readable(client: FlaskClient):
    reply = fetch(client, "/readyz")

    assert reply.status == 200
    assert _json(reply) == {"status": "ready", "checks": {"redis": "ok", "artwork_dir": "ok"}}


def test_readiness_fails_naming_redis_when_it_does_not_answer(down_client: FlaskClient):
    reply = fetch(down_client, "/readyz")

    assert reply.status == 503
    assert _json(reply) == {"error": "not ready", "checks": {"redis": "unreachable", "artwork_dir": "ok"}}


def test_readiness_fails_naming_the_art_directory_when_it_is_missing(redis_url: str, artwork_dir: Path):
    with running_app(_settings(redis_url, artwork_dir)) as app:
        reply = fetch(app.test_client(), "/readyz")

    assert reply.status == 503
    assert _json(reply) == {"error": "not ready", "checks": {"redis": "ok", "artwork_dir": "unreadable"}}


# --- now-playing JSON ---


def test_a_zone_is_served_as_json_with_its_image_urls(client: FlaskClient, playing: dict[str, ArtName]):
    reply = fetch(client, "/api/zones/living-room")

    assert reply.status == 200
    body = _json(reply)
    assert isinstance(body, dict)
    assert body["id"] == "living-room"
    assert body["title"] == "Blue in Green"
    assert body["state"] == "PLAYING"
    assert body["images"] == {p: n.relpath for p, n in playing.items()}
    assert body["image_urls"] == {
        "square720": "/zones/living-room/square720.bmp",
        "jpeg720": "/zones/living-room/jpeg720.jpg",
    }
    assert body["art_urls"] == {p: f"/art/{n.filename}" for p, n in playing.items()}
    assert reply.headers["cache-control"] == "no-cache"


def test_the_zone_json_answers_304_to_its_own_etag(client: FlaskClient, playing: dict[str, ArtName]):
    first = fetch(client, "/api/zones/living-room")

    again = fetch(client, "/api/zones/living-room", headers={"If-None-Match": first.headers["etag"]})

    assert first.headers["etag"].startswith('"')
    assert again.status == 304
    assert again.body == b""


def test_the_zone_json_etag_changes_with_the_track(
    client: FlaskClient, redis_url: str, playing: dict[str, ArtName]
):
    before = fetch(client, "/api/zones/living-room")
    seed_zone(redis_url, make_zone("living-room", playing, title="So What", version=8))

    after = fetch(client, "/api/zones/living-room", headers={"If-None-Match": before.headers["etag"]})

    assert after.status == 200
    assert after.headers["etag"] != before.headers["etag"]


def test_an_unknown_zone_is_a_404_json(client: FlaskClient):
    reply = fetch(client, "/api/zones/attic")

    assert reply.status == 404
    assert _json(reply) == {"error": "unknown zone"}


@pytest.mark.parametrize("zone_id", ["Living-Room", "living_room", "-x", "a" * 65])
def test_an_invalid_zone_id_is_a_404_before_redis_is_asked(down_client: FlaskClient, zone_id: str):
    assert fetch(down_client, f"/api/zones/{zone_id}").status == 404
    assert fetch(down_client, f"/zones/{zone_id}/square720.bmp").status == 404


def test_the_zone_list_holds_every_zone_by_id_and_names_the_default(
    client: FlaskClient, redis_url: str, playing: dict[str, ArtName]
):
    seed_zone(redis_url, make_zone("kitchen"))

    reply = fetch(client, "/api/zones")

    body = _json(reply)
    assert isinstance(body, dict)
    assert body["default_zone"] == "kitchen"
    assert [z["id"] for z in body["zones"]] == ["kitchen", "living-room"]
    assert body["zones"][1]["image_urls"]["square720"] == "/zones/living-room/square720.bmp"
    assert "etag" in reply.headers


def test_the_configured_default_zone_is_named_in_the_list(redis_url: str, art_root: Path):
    settings = Settings.from_env(
        {"REDIS_URL": redis_url, "ARTWORK_DIR": str(art_root), "DEFAULT_ZONE": "study"}
    )
    with running_app(settings) as app:
        body = _json(fetch(app.test_client(), "/api/zones"))

    assert body == {"default_zone": "study", "zones": [], "rooms": []}


def test_a_malformed_zone_is_left_out_of_the_list_and_is_a_503_on_its_own(
    client: FlaskClient, redis_url: str, playing: dict[str, ArtName]
):
    seed_raw_zone(redis_url, "broken", {"name": "Broken", "state": "DANCING"})

    listed = _json(fetch(client, "/api/zones"))
    alone = fetch(client, "/api/zones/broken")

    assert isinstance(listed, dict)
    assert [z["id"] for z in listed["zones"]] == ["living-room"]
    assert alone.status == 503
    assert _json(alone) == {"error": "now-playing state unavailable", "detail": "zone state is malformed"}


def test_redis_down_gives_a_503_json_for_now_playing_state(down_client: FlaskClient):
    for path in ("/api/zones", "/api/zones/living-room", "/zones/living-room/square720.bmp"):
        reply = fetch(down_client, path)

        assert reply.status == 503, path
        assert _json(reply) == {"error": "now-playing state unavailable", "detail": "redis unreachable"}
        assert reply.headers["retry-after"] == "1"


# --- the zone's current image ---


def test_the_zone_image_is_the_file_with_its_content_hash_as_etag(
    client: FlaskClient, art_root: Path, playing: dict[str, ArtName]
):
    square = playing["square720"]
    data = (art_root / square.relpath).read_bytes()

    reply = fetch(client, "/zones/living-room/square720.bmp")

    assert reply.status == 200
    assert reply.body == data
    assert reply.headers["etag"] == f'"{square.hash}"'
    assert reply.headers["content-type"] == "image/bmp"
    assert reply.headers["content-length"] == str(len(data))
    assert reply.headers["cache-control"] == "no-cache"
    assert "last-modified" not in reply.headers  # the zone may switch back to an older file


def test_the_zone_jpeg_has_the_jpeg_content_type(client: FlaskClient, playing: dict[str, ArtName]):
    reply = fetch(client, "/zones/living-room/jpeg720.jpg")

    assert reply.status == 200
    assert reply.headers["content-type"] == "image/jpeg"
    assert reply.body.startswith(b"\xff\xd8")


def test_the_zone_image_answers_304_to_its_etag(client: FlaskClient, playing: dict[str, ArtName]):
    etag = f'"{playing["square720"].hash}"'

    reply = fetch(client, "/zones/living-room/square720.bmp", headers={"If-None-Match": etag})

    assert reply.status == 304
    assert reply.body == b""
    assert reply.headers["etag"] == etag


def test_a_new_track_changes_the_zone_image_etag(
    client: FlaskClient, redis_url: str, art_root: Path, playing: dict[str, ArtName]
):
    old_etag = f'"{playing["square720"].hash}"'
    new = write_rendition(art_root, SQUARE, source_id="next-track")
    seed_zone(redis_url, make_zone("living-room", {"square720": new}))

    reply = fetch(client, "/zones/living-room/square720.bmp", headers={"If-None-Match": old_etag})

    assert reply.status == 200
    assert reply.headers["etag"] == f'"{new.hash}"'
    assert reply.body == (art_root / new.relpath).read_bytes()


def test_a_display_that_had_the_current_image_gets_the_new_one_at_its_next_poll(
    client: FlaskClient, redis_url: str, art_root: Path, playing: dict[str, ArtName]
):
    old_etag = f'"{playing["square720"].hash}"'
    polls = [fetch(client, "/zones/living-room/square720.bmp", headers={"If-None-Match": old_etag})]
    new = write_rendition(art_root, SQUARE, source_id="next-track")
    seed_zone(redis_url, make_zone("living-room", {"square720": new}))
    polls.append(fetch(client, "/zones/living-room/square720.bmp", headers={"If-None-Match": old_etag}))
    seed_zone(redis_url, make_zone("living-room", {"square720": playing["square720"]}))
    polls.append(fetch(client, "/zones/living-room/square720.bmp", headers={"If-None-Match": old_etag}))

    assert [p.status for p in polls] == [304, 200, 304]
    assert polls[1].headers["etag"] == f'"{new.hash}"'


def test_head_of_the_zone_image_gives_headers_only(
    client: FlaskClient, art_root: Path, playing: dict[str, ArtName]
):
    size = (art_root / playing["square720"].relpath).stat().st_size

    reply = fetch(client, "/zones/living-room/square720.bmp", method="HEAD")

    assert reply.status == 200
    assert reply.body == b""
    assert reply.headers["content-length"] == str(size)


@pytest.mark.parametrize(
    ("filename", "says"),
    [
        ("round480.jpg", "profile round480 is not enabled: add it to ARTWORK_PROFILES"),
        ("square720.jpg", "profile square720 is served as square720.bmp"),
        ("square720", "profile square720 is served as square720.bmp"),
        ("nonsense.bmp", "unknown profile 'nonsense.bmp'; the profiles here are square720.bmp, "),
    ],
)
def test_a_profile_that_is_not_served_is_a_404_json_saying_what_to_ask_for_instead(
    client: FlaskClient, playing: dict[str, ArtName], filename: str, says: str
):
    reply = fetch(client, f"/zones/living-room/{filename}")

    assert reply.status == 404
    body = _json(reply)
    assert isinstance(body, dict)
    assert body["error"].startswith(says)


def test_an_image_of_an_unknown_zone_is_a_404_json(client: FlaskClient):
    reply = fetch(client, "/zones/attic/square720.bmp")

    assert reply.status == 404
    assert _json(reply) == {"error": "unknown zone"}


def test_a_zone_without_an_image_for_the_profile_is_a_404_json(
    client: FlaskClient, playing: dict[str, ArtName]
):
    reply = fetch(client, "/zones/living-room/bar320x960.bmp")

    assert reply.status == 404
    assert _json(reply) == {"error": "no image for this zone and profile"}


def test_a_zone_image_whose_file_is_gone_is_a_404_json(
    client: FlaskClient, art_root: Path, playing: dict[str, ArtName]
):
    (art_root / playing["square720"].relpath).unlink()

    reply = fetch(client, "/zones/living-room/square720.bmp")

    assert reply.status == 404
    assert _json(reply) == {"error": "no such image"}


@pytest.mark.parametrize(
    "stored",
    ["../../../etc/passwd", "/etc/passwd", "art/../../etc/passwd", "art/ab/ab-square720.bmp"],
)
def test_a_stored_image_path_outside_the_art_layout_is_never_opened(
    client: FlaskClient, redis_url: str, stored: str
):
    zone = make_zone("living-room").with_changes(images={"square720": stored})
    seed_zone(redis_url, zone)

    reply = fetch(client, "/zones/living-room/square720.bmp")

    assert reply.status == 404
    assert _json(reply) == {"error": "no image for this zone and profile"}


# --- immutable renditions ---


def test_a_rendition_is_served_as_immutable(client: FlaskClient, art_root: Path):
    name = write_rendition(art_root, JPEG)
    data = (art_root / name.relpath).read_bytes()

    reply = fetch(client, f"/art/{name.filename}")

    assert reply.status == 200
    assert reply.body == data
    assert reply.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert reply.headers["etag"] == f'"{name.hash}"'
    assert reply.headers["content-type"] == "image/jpeg"
    assert reply.headers["content-length"] == str(len(data))
    assert "last-modified" in reply.headers


def test_a_rendition_answers_304_to_its_etag(client: FlaskClient, art_root: Path):
    name = write_rendition(art_root, BAR)

    reply = fetch(client, f"/art/{name.filename}", headers={"If-None-Match": f'"{name.hash}"'})

    assert reply.status == 304
    assert reply.body == b""


def test_a_rendition_is_served_while_redis_is_down(down_client: FlaskClient, art_root: Path):
    name = write_rendition(art_root, SQUARE)

    assert fetch(down_client, f"/art/{name.filename}").status == 200


@pytest.mark.parametrize(
    "filename",
    [
        "passwd",
        "..",
        "0123456789abcdef0123456789ABCDEF-square720.bmp",  # upper-case hash
        "0123456789abcdef0123456789abcdef-square720.gif",
        "0123456789abcdef0123456789abcdef-Square720.bmp",
        "0123456789abcdef0123456789abcdef-square720.bmp%00.txt",
    ],
)
def test_names_that_are_not_renditions_are_a_404_json(client: FlaskClient, filename: str):
    reply = fetch(client, f"/art/{filename}")

    assert reply.status == 404
    assert _json(reply) == {"error": "not a rendition name"}


def test_a_missing_rendition_is_a_404_json(client: FlaskClient):
    reply = fetch(client, f"/art/{rendition_name('never', SQUARE).filename}")

    assert reply.status == 404
    assert _json(reply) == {"error": "no such image"}


def test_files_leave_through_the_servers_file_wrapper_so_sendfile_is_used(app: Flask, art_root: Path):
    name = write_rendition(art_root, SQUARE)
    environ = EnvironBuilder(path=f"/art/{name.filename}").get_environ()
    environ["wsgi.file_wrapper"] = FileWrapper

    body = app(environ, lambda status, headers, exc_info=None: lambda data: None)

    try:
        assert isinstance(body, FileWrapper)
    finally:
        body.close()  # type: ignore[attr-defined]


# --- everything else ---


def test_an_unknown_path_is_a_404_json(client: FlaskClient):
    for path in ("/index.html", "/etc/passwd", "/static/x.js", "/api/zones/", "/healthz/", "/Adafruit/"):
        reply = fetch(client, path)

        assert reply.status == 404, path
        assert _json(reply) == {"error": "not found"}


def test_a_wrong_method_is_a_405_json_that_names_the_allowed_ones(client: FlaskClient):
    reply = fetch(client, "/api/zones", method="POST")

    assert reply.status == 405
    assert _json(reply) == {"error": "method not allowed"}
    assert "GET" in reply.headers["allow"]


def test_each_client_error_is_logged_on_one_line(client: FlaskClient, caplog: pytest.LogCaptureFixture):
    with caplog.at_level(logging.INFO, logger="artwork"):
        fetch(client, "/art/x%0Ay")

    lines = [r.getMessage() for r in caplog.records if r.name.startswith("artwork")]
    assert len(lines) == 1
    assert "404" in lines[0]
    assert "\n" not in lines[0]


def test_the_factory_reads_settings_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, redis_url: str, art_root: Path
):
    monkeypatch.setenv("REDIS_URL", redis_url)
    monkeypatch.setenv("ARTWORK_DIR", str(art_root))
    monkeypatch.setenv("DEFAULT_ZONE", "kitchen")

    with running_app(None) as app:
        assert services(app).settings.default_zone == "kitchen"
        assert fetch(app.test_client(), "/readyz").status == 200


def test_the_factory_fails_on_bad_configuration_naming_the_key(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("ARTWORK_PROFILES", "square720,square720")

    with pytest.raises(ConfigError, match=r"^ARTWORK_PROFILES:"):
        create_app()


def test_an_unexpected_failure_is_a_500_json_without_internals(redis_url: str, art_root: Path):
    with running_app(_settings(redis_url, art_root)) as app:

        def explode() -> str:
            raise RuntimeError("secret internals")

        app.add_url_rule("/explode", view_func=explode)
        reply = fetch(app.test_client(), "/explode")

    assert reply.status == 500
    assert _json(reply) == {"error": "internal error"}


# --- HTTP details: ranges, dates, CORS ---


def test_a_range_request_gets_206_with_exactly_those_bytes(client: FlaskClient, art_root: Path):
    name = write_rendition(art_root, JPEG)
    data = (art_root / name.relpath).read_bytes()

    reply = fetch(client, f"/art/{name.filename}", headers={"Range": "bytes=10-19"})

    assert reply.status == 206
    assert reply.body == data[10:20]
    assert reply.headers["content-range"] == f"bytes 10-19/{len(data)}"
    assert reply.headers["accept-ranges"] == "bytes"


def test_an_unsatisfiable_range_is_a_416_json(client: FlaskClient, art_root: Path):
    name = write_rendition(art_root, JPEG)

    reply = fetch(client, f"/art/{name.filename}", headers={"Range": "bytes=999999-"})

    assert reply.status == 416
    assert _json(reply) == {"error": "requested range not satisfiable"}


def test_a_rendition_answers_304_to_if_modified_since(client: FlaskClient, art_root: Path):
    name = write_rendition(art_root, SQUARE)
    last_modified = fetch(client, f"/art/{name.filename}").headers["last-modified"]

    reply = fetch(client, f"/art/{name.filename}", headers={"If-Modified-Since": last_modified})

    assert reply.status == 304


def test_every_response_allows_any_origin_and_exposes_the_validators(
    client: FlaskClient, playing: dict[str, ArtName]
):
    for path in ("/api/zones/living-room", "/zones/living-room/jpeg720.jpg", "/api/zones/attic"):
        reply = fetch(client, path, headers={"Origin": "http://kiosk.example"})

        assert reply.headers["access-control-allow-origin"] == "*", path
        assert "ETag" in reply.headers["access-control-expose-headers"]


def test_a_preflight_allows_the_conditional_request_headers(client: FlaskClient):
    reply = fetch(
        client,
        "/api/zones/living-room",
        method="OPTIONS",
        headers={"Origin": "http://kiosk.example", "Access-Control-Request-Headers": "if-none-match"},
    )

    assert reply.status == 200
    assert "If-None-Match" in reply.headers["access-control-allow-headers"]
    assert "GET" in reply.headers["access-control-allow-methods"]


# --- legacy URLs of the original Qualia clients ---


@pytest.fixture
def legacy(redis_url: str, art_root: Path) -> dict[str, ArtName]:
    """Zones `den` and `kitchen`; `den` (first by id) has both legacy BMPs."""
    names = {p.name: write_rendition(art_root, p, source_id="den") for p in (SQUARE, BAR)}
    seed_zone(redis_url, make_zone("den", names, title="So What", updated_at_ms=1_764_000_123_456))
    seed_zone(redis_url, make_zone("kitchen", {}))
    return names


def test_metadata_json_is_the_first_zones_track_as_the_original_clients_read_it(
    client: FlaskClient, legacy: dict[str, ArtName]
):
    reply = fetch(client, "/metadata.json")

    assert reply.status == 200
    assert _json(reply) == {
        "title": "So What",
        "artist": "Miles Davis",
        "album": "Kind of Blue",
        "last_updated": 1_764_000_123.456,
    }


def test_metadata_json_answers_304_to_its_etag(client: FlaskClient, legacy: dict[str, ArtName]):
    etag = fetch(client, "/metadata.json").headers["etag"]

    assert fetch(client, "/metadata.json", headers={"If-None-Match": etag}).status == 304


def test_metadata_json_is_empty_while_there_is_no_zone(client: FlaskClient):
    reply = fetch(client, "/metadata.json")

    assert reply.status == 200
    assert _json(reply) == {"title": "", "artist": "", "album": "", "last_updated": 0}


def test_the_configured_default_zone_is_what_legacy_urls_show(
    redis_url: str, art_root: Path, legacy: dict[str, ArtName]
):
    settings = Settings.from_env(
        {"REDIS_URL": redis_url, "ARTWORK_DIR": str(art_root), "DEFAULT_ZONE": "kitchen"}
    )
    with running_app(settings) as app:
        client = app.test_client()
        metadata = _json(fetch(client, "/metadata.json"))
        image = fetch(client, "/Adafruit/artwork.bmp")

    assert isinstance(metadata, dict)
    assert metadata["title"] == "Blue in Green"
    assert image.status == 404
    assert _json(image) == {"error": "no image for this zone and profile"}


def test_a_default_zone_naming_a_grouped_room_shows_its_groups_track_on_legacy_urls(
    redis_url: str, art_root: Path, legacy: dict[str, ArtName]
):
    with redis.Redis.from_url(redis_url, decode_responses=True) as redis_client:
        RedisPublisher(redis_client, RedisKeys()).publish_rooms(
            {"den": "den", "office": "den", "kitchen": "kitchen"}
        )
    settings = Settings.from_env(
        {"REDIS_URL": redis_url, "ARTWORK_DIR": str(art_root), "DEFAULT_ZONE": "office"}
    )
    with running_app(settings) as app:
        client = app.test_client()
        metadata = _json(fetch(client, "/metadata.json"))
        image = fetch(client, "/Adafruit/artwork.bmp")

    assert isinstance(metadata, dict)
    assert metadata["title"] == "So What"
    assert image.status == 200
    assert image.body == (art_root / legacy["square720"].relpath).read_bytes()


@pytest.mark.parametrize(
    ("path", "profile"), [("/Adafruit/artwork.bmp", SQUARE), ("/Adafruit/artwork_bar.bmp", BAR)]
)
def test_the_legacy_bmps_are_the_default_zones_renditions(
    client: FlaskClient, art_root: Path, legacy: dict[str, ArtName], path: str, profile: Profile
):
    name = legacy[profile.name]

    reply = fetch(client, path)

    assert reply.status == 200
    assert reply.body == (art_root / name.relpath).read_bytes()
    assert reply.headers["content-type"] == "image/bmp"
    assert reply.headers["etag"] == f'"{name.hash}"'
    assert reply.headers["cache-control"] == "no-cache"
    assert "last-modified" in reply.headers  # for clients that compare it after a HEAD


def test_a_legacy_bmp_ignores_if_modified_since_and_revalidates_by_etag(
    client: FlaskClient, legacy: dict[str, ArtName]
):
    first = fetch(client, "/Adafruit/artwork.bmp")

    by_date = fetch(
        client, "/Adafruit/artwork.bmp", headers={"If-Modified-Since": first.headers["last-modified"]}
    )
    by_etag = fetch(client, "/Adafruit/artwork.bmp", headers={"If-None-Match": first.headers["etag"]})

    assert by_date.status == 200
    assert by_etag.status == 304


def test_a_legacy_bmp_whose_profile_is_not_configured_is_a_404_saying_so(
    redis_url: str, art_root: Path, legacy: dict[str, ArtName]
):
    settings = Settings.from_env(
        {"REDIS_URL": redis_url, "ARTWORK_DIR": str(art_root), "ARTWORK_PROFILES": "jpeg720"}
    )
    with running_app(settings) as app:
        reply = fetch(app.test_client(), "/Adafruit/artwork_bar.bmp")

    assert reply.status == 404
    assert _json(reply) == {
        "error": "profile bar320x960 is not enabled: add it to ARTWORK_PROFILES (now jpeg720.jpg) "
        "and restart, then ask for bar320x960.bmp"
    }


def test_a_legacy_bmp_without_any_zone_is_a_404_json(client: FlaskClient):
    reply = fetch(client, "/Adafruit/artwork.bmp")

    assert reply.status == 404
    assert _json(reply) == {"error": "no zone to show yet"}


def test_legacy_urls_are_a_503_json_while_redis_is_down(down_client: FlaskClient):
    for path in ("/metadata.json", "/Adafruit/artwork.bmp"):
        reply = fetch(down_client, path)

        assert reply.status == 503, path
        assert _json(reply) == {"error": "now-playing state unavailable", "detail": "redis unreachable"}


def test_the_status_page_lists_zones_and_the_display_urls(client: FlaskClient, legacy: dict[str, ArtName]):
    reply = fetch(client, "/status")

    assert reply.status == 200
    assert reply.headers["content-type"].startswith("text/html")
    page = reply.body.decode()
    assert "den (default)" in page
    assert "So What" in page
    assert "/Adafruit/artwork_bar.bmp" in page
    assert "Redis: ok" in page


def test_the_status_page_is_a_503_naming_redis_while_it_is_down(down_client: FlaskClient):
    reply = fetch(down_client, "/status")

    assert reply.status == 503
    assert "Redis: unavailable (redis unreachable)" in reply.body.decode()


# --- kiosk page, OpenAPI document, metrics ---


def test_the_kiosk_page_is_static_html_with_a_strict_csp_and_an_etag(client: FlaskClient):
    page = fetch(client, "/")
    again = fetch(client, "/", headers={"If-None-Match": page.headers["etag"]})

    assert page.status == 200
    assert page.headers["content-type"].startswith("text/html")
    assert b"/api/zones/" in page.body
    assert b"If-None-Match" in page.body
    csp = page.headers["content-security-policy"]
    assert "default-src 'none'" in csp
    assert "script-src 'sha256-" in csp
    assert "unsafe-inline" not in csp
    assert again.status == 304


def test_the_openapi_document_describes_every_route_and_method(app: Flask, client: FlaskClient):
    document = _json(fetch(client, "/openapi.json"))
    assert isinstance(document, dict)
    assert document["openapi"].startswith("3.1")
    paths = document["paths"]

    served = {}
    for rule in app.url_map.iter_rules():
        path = re.sub(r"<(?:[^:>]+:)?([^>]+)>", r"{\1}", rule.rule)
        served[path] = {m.lower() for m in rule.methods or ()} - {"options"}

    assert set(paths) == set(served)
    for path, methods in served.items():
        documented = set(paths[path])
        assert "get" in documented, path
        # Flask adds HEAD to every GET route; image routes document it explicitly.
        assert documented <= methods, path


def test_metrics_are_prometheus_text_with_the_304_ratio(client: FlaskClient):
    reply = fetch(client, "/metrics")

    assert reply.status == 200
    assert reply.headers["content-type"].startswith("text/plain")
    assert b"artwork_http_not_modified_ratio" in reply.body
    assert b"artwork_connections_rejected" in reply.body or b"artwork_http_requests" in reply.body


@pytest.mark.parametrize("path", ["/art/..%2F..%2F{hex}-square720.bmp", "/art/../../{hex}-square720.bmp"])
def test_a_file_outside_the_art_directory_is_never_served_even_with_a_wider_name_pattern(
    client: FlaskClient, art_root: Path, monkeypatch: pytest.MonkeyPatch, path: str
):
    # Were the rendition-name pattern ever widened by mistake, the opening itself still confines.
    wider = re.compile(r"^(?P<hash>[0-9a-f./]{32})-(?P<profile>[a-z0-9_]+)\.(?P<ext>bmp|jpg|png)$")
    monkeypatch.setattr(layout, "ART_NAME_RE", wider)
    hex_part = "0" * 26
    secret = art_root.parent.parent / f"{hex_part}-square720.bmp"  # two levels above ARTWORK_DIR
    secret.write_bytes(b"BM secret")
    assert layout.parse_art_name(f"../../{hex_part}-square720.bmp") is not None, "the pattern is wide"

    reply = fetch(client, path.format(hex=hex_part))

    assert reply.status == 404
    assert b"secret" not in reply.body


# --- gallery ---


def test_the_gallery_shows_the_zone_in_every_configured_profile_with_size_and_format(
    client: FlaskClient, playing: dict[str, ArtName], art_root: Path
):
    reply = fetch(client, "/gallery?zone=living-room")

    assert reply.status == 200
    assert reply.headers["content-type"].startswith("text/html")
    assert "img-src 'self'" in reply.headers["content-security-policy"]
    page = reply.body.decode()
    for name in playing.values():
        assert f'src="/art/{name.filename}"' in page
        size_kib = f"{(art_root / name.relpath).stat().st_size / 1024:,.0f} KiB"
        assert size_kib in page
    assert "aspect-ratio:720/720" in page
    assert "<b>bar320x960</b><br>320×960 BMP, -" in page  # configured, but this zone has none yet
    assert page.count("<figure>") == len(DEFAULT_PROFILES.split(","))


def test_the_gallery_without_a_zone_shows_the_default_one_and_escapes_its_name(
    client: FlaskClient, redis_url: str, art_root: Path
):
    seed_zone(redis_url, make_zone("den", {}, name="<Den & Co>"))

    page = fetch(client, "/gallery").body.decode()

    assert "&lt;Den &amp; Co&gt; in every profile" in page
    assert "<Den" not in page


def test_the_gallery_of_an_unknown_zone_is_a_404(client: FlaskClient, playing: dict[str, ArtName]):
    assert fetch(client, "/gallery?zone=attic").status == 404
