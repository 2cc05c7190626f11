"""Service logging: text by default, one JSON object per line on request."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator

import pytest

from contract.logs import configure_logging


@pytest.fixture(autouse=True)
def _restore_text_logging() -> Iterator[None]:
    yield
    configure_logging("INFO", "text", "artwork")


def test_json_logs_are_one_object_per_line(capsys: pytest.CaptureFixture[str]):
    configure_logging("INFO", "json", "artwork")

    logging.getLogger("artwork.test").warning("zone %s: %s", "kitchen", "multi\nline")

    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 1
    entry = json.loads(lines[0])
    assert entry["message"] == "zone kitchen: multi\nline"
    assert entry["level"] == "WARNING"
    assert entry["logger"] == "artwork.test"


def test_the_level_filters_and_reconfiguring_does_not_double_lines(capsys: pytest.CaptureFixture[str]):
    configure_logging("INFO", "text", "artwork")
    configure_logging("WARNING", "text", "artwork")

    logging.getLogger("artwork.test").info("quiet")
    logging.getLogger("artwork.test").warning("loud")

    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 1
    assert lines[0].endswith("loud")
