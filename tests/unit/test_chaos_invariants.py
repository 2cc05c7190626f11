"""The chaos campaign's verdict on a recorded run: lost and late changes, regressions, recoveries."""

from __future__ import annotations

from collections.abc import Sequence

from bench.chaos.invariants import (
    Change,
    Fault,
    Health,
    Seen,
    Timeline,
    change_title,
    lost_and_late,
    parse_title,
    recoveries,
    regressions,
    unexpected_restarts,
)
from bench.chaos.schedule import Blocks

ALL_HEALTHY = {"redis": True, "poller": True, "artwork": True}


def healthy_every_second(until: float, down: tuple[str, float, float] | None = None) -> list[Health]:
    samples = []
    for second in range(int(until) + 1):
        healthy = dict(ALL_HEALTHY)
        if down is not None and down[1] <= second < down[2]:
            healthy[down[0]] = False
        samples.append(Health(float(second), healthy))
    return samples


def timeline(
    changes: list[Change], seen: list[Seen], faults: Sequence[Fault] = (), health: list[Health] | None = None,
    *, grouped: Sequence[tuple[float, float]] = (), end: float = 100.0,
) -> Timeline:  # fmt: skip
    health = health or healthy_every_second(end)
    return Timeline(list(changes), list(seen), list(faults), health, list(grouped), "kitchen", end)


def seen_everywhere(at: float, zone: str, seq: int) -> list[Seen]:
    return [Seen(at, "redis", zone, seq), Seen(at, "http", zone, seq)]


def test_a_title_names_its_zone_and_change_number_and_nothing_else_parses():
    assert parse_title(change_title("living-room", 12)) == ("living-room", 12)
    assert parse_title("Nothing playing") is None
    assert parse_title("") is None


def test_a_change_shown_within_five_seconds_is_neither_lost_nor_late():
    run = timeline(
        [Change(10, "office", 1), Change(30, "office", 2)],
        seen_everywhere(12, "office", 1) + seen_everywhere(31, "office", 2),
    )
    assert lost_and_late(run) == (0, [])


def test_a_change_that_stood_for_20_s_and_never_showed_is_lost():
    run = timeline([Change(10, "office", 1), Change(30, "office", 2)], seen_everywhere(31, "office", 2))
    lost, violations = lost_and_late(run)
    assert lost == 1
    assert {v.detail for v in violations} == {
        "office #1 never shown on redis",
        "office #1 never shown on http",
    }


def test_a_change_replaced_within_five_seconds_may_be_skipped():
    run = timeline([Change(10, "office", 1), Change(12, "office", 2)], seen_everywhere(13, "office", 2))
    assert lost_and_late(run) == (0, [])


def test_a_change_shown_after_eight_seconds_is_late():
    run = timeline([Change(10, "office", 1)], seen_everywhere(18, "office", 1))
    lost, violations = lost_and_late(run)
    assert lost == 0
    assert [v.detail for v in violations] == ["office #1 on redis 3.0 s late", "office #1 on http 3.0 s late"]


def test_a_change_blocked_by_its_speakers_fault_is_due_five_seconds_after_the_fault_ends():
    fault = Fault("speaker_offline", "office", injected=5, ended=25, blocks=Blocks.ZONE)
    run = timeline([Change(10, "office", 1)], seen_everywhere(29, "office", 1), [fault])
    assert lost_and_late(run) == (0, [])
    other_zone = Fault("speaker_offline", "bedroom", injected=5, ended=25, blocks=Blocks.ZONE)
    assert lost_and_late(timeline([Change(10, "office", 1)], seen_everywhere(29, "office", 1), [other_zone]))[
        1
    ]


def test_a_restart_blocks_until_the_restarted_service_is_healthy_again():
    fault = Fault("poller_kill", "", injected=10, ended=10, blocks=Blocks.EVERYTHING, heals="poller")
    health = healthy_every_second(100, down=("poller", 10, 40))
    run = timeline([Change(12, "office", 1)], seen_everywhere(44, "office", 1), [fault], health)
    assert lost_and_late(run) == (0, [])


def test_an_http_only_fault_does_not_excuse_a_late_redis():
    fault = Fault("client_flood", "", injected=5, ended=25, blocks=Blocks.HTTP)
    seen = [Seen(28, "redis", "office", 1), Seen(28, "http", "office", 1)]
    _, violations = lost_and_late(timeline([Change(10, "office", 1)], seen, [fault]))
    assert [v.detail for v in violations] == ["office #1 on redis 13.0 s late"]


def test_the_member_rooms_change_is_superseded_when_it_joins_a_group():
    run = timeline([Change(10, "kitchen", 1)], [], grouped=[(11, 40)])
    assert lost_and_late(run) == (0, [])


def test_a_reader_going_back_to_an_older_change_is_a_regression():
    seen = [
        Seen(1, "sse:kitchen", "kitchen", 3),
        Seen(2, "sse:kitchen", "living-room", 9),
        Seen(3, "sse:kitchen", "kitchen", 2),
    ]
    assert [v.detail for v in regressions(seen)] == ["sse:kitchen went back from kitchen #3 to #2"]
    assert (
        regressions(
            [Seen(1, "http", "office", 2), Seen(2, "http", "office", 2), Seen(3, "http", "office", 3)]
        )
        == []
    )


def test_recovery_is_counted_from_the_faults_end_to_healthy_and_caught_up():
    fault = Fault("redis_kill", "", injected=20, ended=20, blocks=Blocks.EVERYTHING, heals="redis")
    health = healthy_every_second(100, down=("redis", 20, 26))
    changes = [Change(5, "office", 1), Change(22, "office", 2)]
    seen = seen_everywhere(6, "office", 1) + seen_everywhere(29, "office", 2)
    table, violations = recoveries(timeline(changes, seen, [fault], health))
    assert violations == []
    assert [(r.kind, r.injected, r.recovered, r.seconds) for r in table] == [("redis_kill", 1, 1, [9.0])]


def test_a_fault_the_stack_never_recovers_from_is_a_violation():
    fault = Fault("poller_stop", "", injected=20, ended=20, blocks=Blocks.EVERYTHING, heals="poller")
    health = healthy_every_second(100, down=("poller", 20, 200))
    table, violations = recoveries(
        timeline([Change(5, "office", 1)], seen_everywhere(6, "office", 1), [fault], health)
    )
    assert table[0].recovered == 0
    assert [v.detail for v in violations] == ["poller_stop on the stack never recovered"]


def test_only_a_fault_meant_to_restart_a_service_excuses_its_restart():
    fault = Fault("poller_kill", "", injected=20, ended=20, blocks=Blocks.EVERYTHING, heals="poller")
    run = timeline([], [], [fault])
    assert unexpected_restarts([(21, "poller")], run) == []
    assert [v.detail for v in unexpected_restarts([(60, "artwork")], run)] == [
        "artwork restarted with no fault meant to restart it"
    ]


def test_a_fault_hit_again_before_it_recovered_is_timed_from_the_later_faults_end():
    first = Fault("poller_kill", "", injected=20, ended=20, blocks=Blocks.EVERYTHING, heals="poller")
    second = Fault("poller_stop", "", injected=30, ended=90, blocks=Blocks.EVERYTHING, heals="poller")
    health = healthy_every_second(200, down=("poller", 20, 100))
    changes = [Change(5, "office", 1)]
    table, violations = recoveries(
        timeline(changes, seen_everywhere(6, "office", 1), [first, second], health, end=200)
    )
    assert violations == []
    assert {r.kind: r.seconds for r in table} == {"poller_kill": [10.0], "poller_stop": [10.0]}
