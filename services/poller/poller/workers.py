"""Bounded concurrency: a fixed set of zone workers, one job per zone at a time."""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable

_Job = tuple[str, Callable[[], object]]  # what a job returns is ignored


class ZoneWorkers:
    """A fixed number of daemon threads running at most one job per key (zone) at a time.

    The threads start with the first job and never grow in number; a job that raises is kept in
    `failure` for the owner to re-raise, so a bug still ends the process instead of a thread.
    """

    def __init__(self, count: int, on_done: Callable[[], None], name: str = "zone-worker") -> None:
        if count < 1:
            raise ValueError("at least one worker")
        self._count = count
        self._on_done = on_done
        self._name = name
        self._jobs: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._idle = threading.Condition(self._lock)
        self._queued: set[str] = set()  # keys with a job waiting or running
        self._running_since: dict[str, float] = {}  # key -> monotonic start of its running job
        self._threads: list[threading.Thread] = []
        self.failure: BaseException | None = None

    def submit(self, key: str, job: Callable[[], object]) -> bool:
        """Queue job unless key already has one waiting or running (then False: it runs once, later)."""
        with self._lock:
            if key in self._queued:
                return False
            self._queued.add(key)
            if not self._threads:
                self._threads = [
                    threading.Thread(target=self._work, name=f"{self._name}-{n}", daemon=True)
                    for n in range(self._count)
                ]
                for thread in self._threads:
                    thread.start()
        self._jobs.put((key, job))
        return True

    def busy(self, key: str) -> bool:
        """Whether key has a job waiting or running."""
        with self._lock:
            return key in self._queued

    def longest_running_seconds(self) -> float:
        """How long the oldest running job has been running (0 when none is): a hung one shows here."""
        with self._lock:
            started = min(self._running_since.values(), default=None)
        return 0.0 if started is None else time.monotonic() - started

    def wait_idle(self, timeout_seconds: float) -> bool:
        """Wait until no job is waiting or running; False when the timeout came first."""
        with self._idle:
            return self._idle.wait_for(lambda: not self._queued, timeout_seconds)

    def close(self) -> None:
        """Let each thread end after its current job; jobs still waiting are not run."""
        for _ in self._threads:
            self._jobs.put(None)

    def _work(self) -> None:
        while (item := self._jobs.get()) is not None:
            key, job = item
            with self._lock:
                self._running_since[key] = time.monotonic()
            try:
                job()
            except Exception as err:  # noqa: BLE001 - handed to the owner, which re-raises it
                self.failure = err
            finally:
                with self._lock:
                    del self._running_since[key]
                    self._queued.discard(key)
                    self._idle.notify_all()
                self._on_done()
