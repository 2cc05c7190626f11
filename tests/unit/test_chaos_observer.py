"""The chaos observer fails loudly on its own errors, and checks what readers are served."""

from __future__ import annotations

import io
import threading

from PIL import Image

from bench.chaos.observer import ObserverError, Record, check_image, watch_containers


def test_a_docker_that_cannot_answer_fails_the_run_instead_of_passing_it():
    # A container id that cannot exist: docker (or its absence) refuses, whatever this machine has.
    record, stop = Record(), threading.Event()
    watch_containers(record, {"poller": "no-such-container-for-chaos"}, stop)
    assert stop.is_set()
    assert [type(err) for err in record.failures] == [ObserverError]
    assert record.health == []


def png(size: tuple[int, int]) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, "navy").save(out, "PNG")
    return out.getvalue()


def test_an_image_that_decodes_at_its_profiles_size_passes():
    record = Record()
    check_image(record, png((32, 48)), (32, 48), "/zones/x/p.png")
    assert (record.images_checked, record.violations) == (1, [])


def test_a_partial_or_wrong_sized_image_breaks_invariant_two():
    record = Record()
    whole = png((32, 48))
    check_image(record, whole[: len(whole) // 2], (32, 48), "/zones/x/p.png")
    check_image(record, whole, (48, 32), "/zones/x/p.png")
    assert [v.invariant for v in record.violations] == [2, 2]
    assert "32x48, expected 48x32" in record.violations[1].detail


def test_only_the_documented_503_is_an_acceptable_5xx():
    record = Record()
    record.status(503, "/api/zones/office")
    record.status(500, "/api/zones/office")
    assert record.statuses == {503: 1, 500: 1}
    assert [(v.invariant, v.detail) for v in record.violations] == [(4, "500 from /api/zones/office")]


def test_the_floods_statuses_are_counted_apart_from_what_the_displays_got():
    record = Record()
    record.status(200, "/api/zones/office")
    record.status(503, "/api/zones (flood)", flood=True)
    record.status(503, "/api/zones (flood)", flood=True)

    assert record.statuses == {200: 1}
    assert record.flood_statuses == {503: 2}
