"""Zone workers and the pixel budget: bounded concurrency, with real threads."""

from __future__ import annotations

import threading
import time

import pytest

from poller.decode import PixelBudget
from poller.workers import ZoneWorkers

pytestmark = pytest.mark.timeout(30)


def test_jobs_of_different_zones_run_side_by_side():
    together = threading.Barrier(2, timeout=5)  # broken unless both jobs wait at the same time
    workers = ZoneWorkers(2, on_done=lambda: None)
    try:
        assert workers.submit("kitchen", together.wait)
        assert workers.submit("den", together.wait)
        assert workers.wait_idle(5)
        assert workers.failure is None
    finally:
        workers.close()


def test_a_zone_with_a_job_waiting_or_running_gets_no_second_one():
    release = threading.Event()
    runs: list[str] = []

    def first() -> None:
        release.wait(5)
        runs.append("first")

    workers = ZoneWorkers(3, on_done=lambda: None)
    try:
        assert workers.submit("kitchen", first)
        assert not workers.submit("kitchen", lambda: runs.append("second"))
        assert workers.busy("kitchen")
        release.set()
        assert workers.wait_idle(5)
        assert not workers.busy("kitchen")
        assert workers.submit("kitchen", lambda: runs.append("third"))
        assert workers.wait_idle(5)
        assert runs == ["first", "third"]
    finally:
        workers.close()


def test_the_number_of_threads_is_fixed_however_many_zones_are_busy():
    def workers_alive() -> int:
        return sum(t.name.startswith("fixed-test") for t in threading.enumerate())

    ran_on: set[str] = set()

    def job() -> None:
        ran_on.add(threading.current_thread().name)
        time.sleep(0.001)

    workers = ZoneWorkers(3, on_done=lambda: None, name="fixed-test")
    try:
        for n in range(60):
            workers.submit(f"zone-{n}", job)
        assert workers_alive() == 3
        assert workers.wait_idle(10)
        assert len(ran_on) <= 3
        assert workers_alive() == 3
    finally:
        workers.close()


def test_a_failing_job_is_kept_for_the_owner_and_its_worker_lives_on():
    done = threading.Event()
    calls = 0

    def finished() -> None:
        nonlocal calls
        calls += 1

    def broken() -> None:
        raise RuntimeError("a bug")

    workers = ZoneWorkers(1, on_done=finished)
    try:
        workers.submit("kitchen", broken)
        assert workers.wait_idle(5)
        assert isinstance(workers.failure, RuntimeError)
        workers.submit("kitchen", done.set)
        assert done.wait(5), "the one worker still runs jobs"
        assert workers.wait_idle(5)
        assert calls == 2, "the owner hears of every job's end, failed or not"
    finally:
        workers.close()


def test_a_hung_job_shows_as_the_longest_running_one():
    release = threading.Event()
    workers = ZoneWorkers(2, on_done=lambda: None)
    try:
        assert workers.longest_running_seconds() == 0
        workers.submit("kitchen", lambda: release.wait(5))
        time.sleep(0.3)
        assert workers.longest_running_seconds() >= 0.25
        assert not workers.wait_idle(0.05)
        release.set()
        assert workers.wait_idle(5)
        assert workers.longest_running_seconds() == 0
    finally:
        workers.close()


def test_close_ends_every_worker_thread():
    workers = ZoneWorkers(2, on_done=lambda: None, name="closing-test")
    workers.submit("kitchen", lambda: None)
    assert workers.wait_idle(5)
    workers.close()
    deadline = time.monotonic() + 5
    while any(t.name.startswith("closing-test") for t in threading.enumerate()):
        assert time.monotonic() < deadline, "worker threads still alive after close"
        time.sleep(0.01)


def test_holds_that_together_exceed_the_budget_never_overlap():
    budget = PixelBudget(100)
    lock = threading.Lock()
    held = peak = 0

    def decode(pixels: int) -> None:
        nonlocal held, peak
        for _ in range(20):
            with budget.hold(pixels):
                with lock:
                    held += pixels
                    peak = max(peak, held)
                time.sleep(0.001)
                with lock:
                    held -= pixels

    threads = [threading.Thread(target=decode, args=(pixels,)) for pixels in (60, 60, 30, 10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert 60 < peak <= 100, "holds overlap where they fit, never beyond the budget"
    assert budget.free_pixels == 100


def test_a_hold_larger_than_the_budget_waits_until_it_is_alone():
    budget = PixelBudget(100)
    small_released = threading.Event()
    order: list[str] = []

    def huge() -> None:
        with budget.hold(10_000):
            order.append("huge")
            assert budget.free_pixels == 0

    with budget.hold(10):
        thread = threading.Thread(target=huge)
        thread.start()
        time.sleep(0.1)
        assert order == [], "waits while anything else is held"
        order.append("small released")
        small_released.set()
    thread.join(5)
    assert order == ["small released", "huge"]
    assert budget.free_pixels == 100
