"""Which requests the worker may hold until their zone changes, read from the raw request head."""

from __future__ import annotations

import pytest

from artwork.waiting import BadWait, WaitRequest, not_modified_response, parse_wait_request, wait_seconds


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
