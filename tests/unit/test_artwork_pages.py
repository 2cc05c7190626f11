"""The fixed documents and the status page, as pure values."""

from __future__ import annotations

import base64
import hashlib

from artwork.config import Settings
from artwork.openapi import openapi_document
from artwork.page_documents import content_security_policy, load_pages
from artwork.payloads import legacy_metadata
from artwork.status_html import ZoneLine, status_html
from contract.profiles import parse_profiles
from contract.zone import ZoneState


def _hash(block: bytes) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(block).digest()).decode() + "'"


def test_the_csp_allows_exactly_the_inline_script_and_style_by_hash():
    html = b"<style>body{}</style><script>go()</script>"

    csp = content_security_policy(html)

    assert f"script-src {_hash(b'go()')}" in csp
    assert f"style-src {_hash(b'body{}')}" in csp
    assert "default-src 'none'" in csp
    assert "connect-src 'self'" in csp


def test_the_kiosk_page_ships_in_the_package_with_its_csp():
    pages = load_pages(Settings())

    assert pages.kiosk.body.startswith(b"<!DOCTYPE html>")
    assert "script-src 'sha256-" in pages.kiosk_csp
    assert b"http" not in pages.kiosk.body.replace(b"http-equiv", b"")  # no CDN, nothing remote


def test_the_openapi_document_lists_the_configured_profiles_only():
    document = openapi_document(parse_profiles("square720,jpeg480"))

    filename = document["paths"]["/zones/{zone_id}/{filename}"]["get"]["parameters"][1]
    assert filename["schema"]["enum"] == ["square720.bmp", "jpeg480.jpg"]
    assert document["components"]["schemas"]["Zone"]["properties"]["image_urls"]["propertyNames"] == {
        "enum": ["square720", "jpeg480"]
    }


def test_legacy_metadata_has_the_original_fields_with_unix_seconds():
    zone = ZoneState("den", "Den", "R", title="T", artist="A", album="B", updated_at_ms=1_500)

    assert legacy_metadata(zone) == {"title": "T", "artist": "A", "album": "B", "last_updated": 1.5}
    assert legacy_metadata(None) == {"title": "", "artist": "", "album": "", "last_updated": 0}


def test_the_status_page_escapes_whatever_the_speakers_report():
    line = ZoneLine("den", "<b>Den</b>", "PLAYING", "<script>x</script>", "A&B", "", 0)

    html = status_html(
        now_seconds=0,
        default_zone="den",
        zones=[line],
        profiles=["square720"],
        redis_error="",
        volume_readable=True,
    )

    assert "<script>x" not in html
    assert "&lt;script&gt;x&lt;/script&gt;" in html
    assert "A&amp;B" in html
    assert "den (default)" in html
