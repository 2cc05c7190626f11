"""Which requests the worker may hold until their zone changes, read from the raw request head."""

from __future__ import annotations

import pytest

from artwork.waiting import (
    BadWait,
    PlainImageRequest,
    WaitRequest,
    keepalive_response_head,
    not_modified_response,
    parse_plain_image_request,
    parse_wait_request,
    wait_seconds,
)


def head(target: str, *headers: str, method: str = "GET") -> bytes:
    return "\r\n".join([f"{method} {target} HTTP/1.1", "Host: pi", *headers, "", ""]).encode()


@pytest.mark.parametrize(("value", "seconds"), [("0", 0.0), ("30", 30.0), ("2.5", 2.5), ("0.1", 0.1)])
def test_wait_is_seconds_as_an_integer_or_a_decimal(value, seconds):
    assert wait_seconds(value, 30) == seconds


@pytest.mark.parametrize("value", ["abc", "-1", "1e9", "31", "nan", "inf", "", " 5", "0x10"])
def test_wait_outside_zero_to_the_cap_is_refused_with_its_range(value):
    with pytest.raises(BadWait, match="from 0 to 30"):
        wait_seconds(value, 30)


def test_an_image_request_with_wait_and_an_etag_is_held():
    parsed = parse_wait_request(head("/zones/kitchen/square720.bmp?wait=25", 'If-None-Match: "abc"'), 30)

    assert parsed == WaitRequest("kitchen", "square720.bmp", '"abc"', 25.0)
    assert parsed.is_image


def test_the_zone_json_with_wait_is_held_for_head_requests_too():
    request_head = head("/api/zones/kitchen?x=1&wait=5", 'if-none-match: "e"', method="HEAD")

    parsed = parse_wait_request(request_head, 30)

    assert parsed == WaitRequest("kitchen", "", '"e"', 5.0)


@pytest.mark.parametrize(
    "request_head",
    [
        head("/zones/kitchen/square720.bmp?wait=5"),  # no validator: answered at once
        head("/zones/kitchen/square720.bmp", 'If-None-Match: "a"'),  # no wait
        head("/zones/kitchen/square720.bmp?wait=0", 'If-None-Match: "a"'),
        head("/zones/kitchen/square720.bmp?wait=abc", 'If-None-Match: "a"'),  # the view answers 400
        head("/zones/kitchen/square720.bmp?wait=5", 'If-None-Match: "a"', method="POST"),
        head("/Adafruit/artwork.bmp?wait=5", 'If-None-Match: "a"'),  # legacy URLs never wait
        head("/zones/Kitchen!/square720.bmp?wait=5", 'If-None-Match: "a"'),
        head("/zones/kitchen?wait=5", 'If-None-Match: "a"'),
        b"GET /zones/kitchen/square720.bmp?wait=5\r\n\r\n",
    ],
)
def test_requests_that_are_not_to_be_held_are_answered_at_once(request_head):
    assert parse_wait_request(request_head, 30) is None


def test_the_stop_answer_is_a_304_with_the_etag_that_closes_the_connection():
    response = not_modified_response('"abc"')

    assert response.startswith(b"HTTP/1.1 304 Not Modified\r\n")
    assert b'ETag: "abc"\r\n' in response
    assert b"Access-Control-Allow-Origin: *\r\n" in response
    assert response.endswith(b"Connection: close\r\n\r\n")


# --- plain image requests the worker answers without gunicorn's request machinery ---


def test_a_display_polling_its_zone_image_with_the_etag_it_holds_is_a_plain_request():
    request_head = head(
        "/zones/kitchen/square720.bmp", "User-Agent: Adafruit CircuitPython", 'If-None-Match: "abc"'
    )

    assert parse_plain_image_request(request_head) == PlainImageRequest(
        "kitchen", "square720.bmp", '"abc"', head_only=False
    )


def test_a_head_request_and_any_header_name_case_are_plain_requests_too():
    request_head = head("/zones/kitchen/square720.bmp", 'IF-NONE-MATCH:"abc"', method="HEAD")

    assert parse_plain_image_request(request_head) == PlainImageRequest(
        "kitchen", "square720.bmp", '"abc"', head_only=True
    )


def test_a_rendition_fetched_by_its_own_name_is_a_plain_request_without_a_zone():
    assert parse_plain_image_request(head("/art/abc.jpeg720.jpg")) == PlainImageRequest(
        None, "abc.jpeg720.jpg", "", head_only=False
    )


def test_a_first_fetch_without_an_etag_and_a_browsers_keep_alive_are_plain_requests():
    request_head = head("/zones/kitchen/jpeg720.jpg", "Connection: Keep-Alive", "Accept: image/*")

    assert parse_plain_image_request(request_head) == PlainImageRequest(
        "kitchen", "jpeg720.jpg", "", head_only=False
    )


@pytest.mark.parametrize(
    "request_head",
    [
        head("/zones/kitchen/square720.bmp", 'If-None-Match: "a"', 'If-None-Match: "b"'),
        head("/zones/kitchen/square720.bmp?wait=20", 'If-None-Match: "a"'),  # held, not answered at once
        head("/zones/kitchen/square720.bmp?x", 'If-None-Match: "a"'),
        head("/zones/kit%63hen/square720.bmp", 'If-None-Match: "a"'),  # escapes: the router decodes them
        head("/zones/kitchen/square720.bmp", 'If-None-Match: "a"', "Range: bytes=0-9"),
        head("/zones/kitchen/square720.bmp", 'If-None-Match: "a"', "Connection: close"),
        head("/zones/kitchen/square720.bmp", "Connection: keep-alive, Upgrade", "Upgrade: h2c"),
        head("/zones/kitchen/square720.bmp", "Transfer-Encoding: chunked"),
        head("/zones/kitchen/square720.bmp", "If-Modified-Since: Thu, 03 Dec 2026 16:17:55 GMT"),
        head("/zones/kitchen/square720.bmp", 'If-None-Match: "a", "b"'),  # a list: werkzeug's to match
        head("/zones/kitchen/square720.bmp", "If-None-Match: *"),
        head("/zones/kitchen/square720.bmp", 'If-None-Match: W/"a"'),
        head("/art/ab/cd.jpg"),
        head("/art/"),
        head("/artwork/x.jpg"),
        head("/zones/kitchen/square720.bmp", 'If-None-Match: "a"', "Content-Length: 3"),
        head("/zones/kitchen/square720.bmp", 'If-None-Match: "a"', "If-Match: *"),
        head("/zones/kitchen/square720.bmp", 'If-None-Match: "a"', " folded: line"),
        head("/zones/kitchen/square720.bmp", 'If-None-Match : "a"'),
        head("/zones/kitchen/square720.bmp", 'If-None-Match: "a"', method="POST"),
        head("/zones/kitchen/sub/square720.bmp", 'If-None-Match: "a"'),
        head("/zones/kitchen", 'If-None-Match: "a"'),
        head("/zones/Kitchen!/square720.bmp", 'If-None-Match: "a"'),
        head("/api/zones/kitchen", 'If-None-Match: "a"'),
        head("/zones/kitchen/square720.bmp", 'If-None-Match: "a"').replace(b"HTTP/1.1", b"HTTP/1.0"),
        head("/zones/kitchen/square720.bmp", 'If-None-Match: "a"') + b"GET / HTTP/1.1\r\n\r\n",  # pipelined
        head("/zones/kitchen/square720.bmp", 'If-None-Match: "a"').replace(b"\r\n", b"\n"),
    ],
)
def test_anything_but_a_plain_request_is_left_to_gunicorn_and_the_app(request_head):
    assert parse_plain_image_request(request_head) is None


def test_a_kept_alive_response_head_is_the_one_gunicorn_writes():
    response = keepalive_response_head(
        "304 NOT MODIFIED",
        [("ETag", '"abc"'), ("Cache-Control", "no-cache")],
        "gunicorn",
        "Thu, 03 Dec 2026 16:17:55 GMT",
    )

    assert response == (
        b"HTTP/1.1 304 NOT MODIFIED\r\n"
        b"Server: gunicorn\r\n"
        b"Date: Thu, 03 Dec 2026 16:17:55 GMT\r\n"
        b"Connection: keep-alive\r\n"
        b'ETag: "abc"\r\n'
        b"Cache-Control: no-cache\r\n"
        b"\r\n"
    )
