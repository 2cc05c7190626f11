"""Fixed documents built once per app: the kiosk page and the OpenAPI document."""

from __future__ import annotations

import base64
import hashlib
import re
from dataclasses import dataclass
from importlib import resources

from artwork.config import Settings
from artwork.openapi import openapi_document
from artwork.payloads import body_etag, json_body

_INLINE_RE = {
    "script-src": re.compile(rb"<script>(.*?)</script>", re.DOTALL),
    "style-src": re.compile(rb"<style>(.*?)</style>", re.DOTALL),
}


@dataclass(frozen=True)
class Document:
    """Bytes with their ETag."""

    body: bytes
    etag: str


@dataclass(frozen=True)
class Pages:
    """What the page routes serve."""

    kiosk: Document
    kiosk_csp: str
    openapi: Document


def content_security_policy(html: bytes) -> str:
    """A CSP allowing exactly the page's own inline script and style, by hash, and same-origin fetches."""
    directives = ["default-src 'none'", "img-src 'self'", "connect-src 'self'", "base-uri 'none'"]
    for directive, pattern in _INLINE_RE.items():
        hashes = [
            "'sha256-" + base64.b64encode(hashlib.sha256(block).digest()).decode() + "'"
            for block in pattern.findall(html)
        ]
        directives.append(" ".join([directive, *hashes]) if hashes else f"{directive} 'none'")
    return "; ".join(directives)


def load_pages(settings: Settings) -> Pages:
    """Read the kiosk page from the package and build the OpenAPI document."""
    kiosk = resources.files("artwork").joinpath("kiosk.html").read_bytes()
    spec = json_body(openapi_document(settings.profiles, settings.max_wait_seconds))
    return Pages(
        kiosk=Document(kiosk, body_etag(kiosk)),
        kiosk_csp=content_security_policy(kiosk),
        openapi=Document(spec, body_etag(spec)),
    )
