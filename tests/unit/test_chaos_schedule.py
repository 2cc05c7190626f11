"""The chaos campaign's plan: repeatable from its seed, every kind several times, a busy pace."""

from __future__ import annotations

import itertools

import pytest

from bench.chaos.schedule import (
    COOLDOWN_SECONDS,
    KINDS,
    SHORT_KINDS,
    WARMUP_SECONDS,
    plan_changes,
    plan_faults,
    plan_groups,
)


def test_the_same_seed_gives_the_same_faults_and_changes():
    assert plan_faults(42, 30, tuple(KINDS), 3) == plan_faults(42, 30, tuple(KINDS), 3)
    assert plan_changes(42, 30, 4) == plan_changes(42, 30, 4)


def test_another_seed_gives_another_schedule():
    assert plan_faults(1, 30, tuple(KINDS), 3) != plan_faults(2, 30, tuple(KINDS), 3)


def test_half_an_hour_injects_every_kind_several_times_between_warmup_and_cooldown():
    plan = plan_faults(42, 30, tuple(KINDS), 3)
    counts = {kind: sum(f.kind == kind for f in plan) for kind in KINDS}
    assert min(counts.values()) >= 3, counts
    assert all(WARMUP_SECONDS <= f.at_seconds <= 30 * 60 - COOLDOWN_SECONDS for f in plan)
    assert [f.at_seconds for f in plan] == sorted(f.at_seconds for f in plan)


def test_the_two_minute_ci_run_still_injects_each_of_its_kinds():
    plan = plan_faults(7, 2, SHORT_KINDS, 3)
    assert sorted(f.kind for f in plan) == sorted(SHORT_KINDS)


def test_a_run_too_short_for_any_fault_is_refused():
    with pytest.raises(ValueError, match="no time"):
        plan_faults(7, 1, SHORT_KINDS, 3)


def test_changes_come_about_every_five_seconds_per_zone_with_bursts():
    plan = plan_changes(42, 30, 4)
    per_zone_per_minute = len(plan) / 4 / 30
    assert 10 <= per_zone_per_minute <= 14.5  # 12 on average, plus one burst of 5 a minute over 4 zones
    assert {change.source for change in plan} >= {"library", "radio", "line_in", "tv"}
    bursts = [
        a for a, b in itertools.pairwise(plan) if a.zone == b.zone and b.at_seconds - a.at_seconds < 0.3
    ]
    assert len(bursts) >= 29 * 4  # 4 quick follow-ups per burst, one burst a minute


def test_the_member_room_joins_and_leaves_a_group_every_ninety_seconds_and_is_back_before_the_end():
    groups = plan_groups(30)
    assert len(groups) >= 18
    assert all(g.at_seconds + g.seconds < 30 * 60 - COOLDOWN_SECONDS for g in groups)
