"""``TimedThreadWorker``'s heartbeat: the arbiter hears from it, but not on every request."""

from __future__ import annotations

from imgreg.server import worker


class Heartbeat:
    def __init__(self) -> None:
        self.beats = 0

    def notify(self) -> None:
        self.beats += 1


def make(timeout: float) -> worker.TimedThreadWorker:
    w = worker.TimedThreadWorker.__new__(worker.TimedThreadWorker)
    w.timeout = timeout
    w.tmp = Heartbeat()
    return w


def test_heartbeat_at_most_once_a_second(monkeypatch):
    clock = [100.0]
    monkeypatch.setattr(worker.time, "monotonic", lambda: clock[0])
    w = make(timeout=30)
    for _ in range(1000):  # a thousand requests within one instant
        w.notify()
    assert w.tmp.beats == 1
    clock[0] += 0.9
    w.notify()
    assert w.tmp.beats == 1
    clock[0] += 0.1
    w.notify()
    assert w.tmp.beats == 2


def test_heartbeat_keeps_up_with_a_short_timeout(monkeypatch):
    clock = [100.0]
    monkeypatch.setattr(worker.time, "monotonic", lambda: clock[0])
    w = make(timeout=1)
    w.notify()
    clock[0] += 0.25  # a quarter of the timeout
    w.notify()
    assert w.tmp.beats == 2
