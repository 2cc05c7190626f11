"""The healthcheck's verdict on a heartbeat's age, and the pid it would kill."""

from __future__ import annotations

from pathlib import Path

from poller.healthcheck import FROZEN_MARGIN_SECONDS, Verdict, heartbeat_pid, verdict


def test_a_heartbeat_within_the_watchdogs_limit_is_fresh():
    assert verdict(59.9, 60) is Verdict.FRESH


def test_past_the_limit_it_is_stale_and_the_pollers_own_watchdog_acts_first():
    assert verdict(61, 60) is Verdict.STALE
    assert verdict(60 + FROZEN_MARGIN_SECONDS, 60) is Verdict.STALE


def test_past_the_limit_and_the_margin_the_poller_is_frozen():
    assert verdict(60 + FROZEN_MARGIN_SECONDS + 0.1, 60) is Verdict.FROZEN


def test_the_pid_is_read_from_the_heartbeat_file(tmp_path: Path):
    beat = tmp_path / "heartbeat"
    beat.write_text("4321\n")
    assert heartbeat_pid(beat) == 4321


def test_an_empty_or_missing_heartbeat_file_names_no_pid(tmp_path: Path):
    beat = tmp_path / "heartbeat"
    assert heartbeat_pid(beat) is None
    beat.touch()
    assert heartbeat_pid(beat) is None
