"""Response headers every route shares; no Flask here, so the worker's master process can import it."""

IMMUTABLE_CACHE_CONTROL = "public, max-age=31536000, immutable"
# On every response. Everything here is public, read-only and sent without credentials, so any
# origin may read it; the conditional-request headers are what a browser client needs to see.
EVERY_RESPONSE_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Expose-Headers": "ETag, Last-Modified, Retry-After, Accept-Ranges, Content-Range",
}
REVALIDATE_CACHE_CONTROL = "no-cache"


def rendition_headers(etag: str, cache_control: str) -> list[tuple[str, str]]:
    """The headers of an image answer (200 or 304) before its body's own; no Date (the server adds it)."""
    return [
        ("ETag", etag),
        ("Cache-Control", cache_control),
        ("Accept-Ranges", "bytes"),
        *EVERY_RESPONSE_HEADERS.items(),
    ]


def image_headers(
    etag: str, cache_control: str, content_type: str, size_bytes: int, last_modified: str | None = None
) -> list[tuple[str, str]]:
    """The headers of an image's 200 (only `/art` sends Last-Modified); no Date (the server adds it)."""
    return [
        *rendition_headers(etag, cache_control),
        ("Content-Type", content_type),
        ("Content-Length", str(size_bytes)),
        *([("Last-Modified", last_modified)] if last_modified is not None else []),
    ]
