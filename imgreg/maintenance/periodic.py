"""``PeriodicThread``: a daemon thread that calls ``tick`` every ``period`` seconds, the first
time after a random fraction of a period (so that the workers of a node, which all start one,
do not all run together). It sleeps on an event, so ``stop()`` ends it at once, and a SIGKILLed
worker takes it along. The reaper and the image cache's upkeep are its two subclasses; each
``tick`` catches its own errors, since a tick that raised would end the thread.

``Slot`` holds the one timer of a kind that a process runs, stopped at exit.
"""

from __future__ import annotations

import atexit
import random
import threading
from collections.abc import Callable
from typing import Generic, TypeVar


class PeriodicThread:
    name = "imgreg-periodic"

    def __init__(self, period: float) -> None:
        self.period = period
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(timeout)

    def _run(self) -> None:
        wait = random.uniform(0, self.period)  # noqa: S311 (spreading, not security)
        while not self._stop.wait(wait):
            wait = self.period
            self.tick()

    def tick(self) -> None:
        raise NotImplementedError


T = TypeVar("T", bound="PeriodicThread")


class Slot(Generic[T]):
    """The process's one running timer of a kind: ``start`` makes and starts it once."""

    def __init__(self) -> None:
        self.running: T | None = None

    def start(self, make: Callable[[], T]) -> T:
        if self.running is None:
            self.running = make()
            self.running.start()
            atexit.register(self.stop)  # a worker that exits (uWSGI's too) stops it first
        return self.running

    def stop(self) -> None:
        if self.running is not None:
            self.running.stop()
        self.running = None
