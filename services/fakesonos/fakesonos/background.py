"""A thread that changes the household over time until stopped (shared by scenarios and load mode)."""

from __future__ import annotations

import threading


class BackgroundChanges:
    """Makes the first change at `start()`, then runs `_run` in a daemon thread until `stop()`."""

    thread_name = "fakesonos-changes"

    def __init__(self) -> None:
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Make the first change before returning, then keep going in a background thread."""
        self._stop.clear()
        self._first()
        self._thread = threading.Thread(target=self._run, name=self.thread_name, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop changing things (what plays now keeps playing)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None

    def _first(self) -> None:
        """The change made synchronously by `start()`."""

    def _run(self) -> None:
        """The changes made in the thread; return when `self._stop` is set."""
        raise NotImplementedError
