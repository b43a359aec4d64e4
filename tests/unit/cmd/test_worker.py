"""``TimedThreadWorker``: its heartbeat (the arbiter hears from it, but not on every
request), the requests one thread serves in a row on a kept-alive connection, and when the
body drain is skipped."""

from __future__ import annotations

import threading
import types

from gunicorn.config import Config

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


def handling(monkeypatch, results: list[object], heads: list[bool]):
    """gthread's ``handle`` as a stand-in serving one request a call, with ``results`` as
    its answers (keep-alive or not), and ``heads`` as what ``next_head`` finds."""
    served = types.SimpleNamespace(calls=0)

    def handle(_self: object, _conn: object) -> object:
        served.calls += 1
        return results.pop(0)

    monkeypatch.setattr(worker.ThreadWorker, "handle", handle)
    monkeypatch.setattr(worker, "next_head", lambda conn, linger: heads.pop(0))
    w = worker.TimedThreadWorker.__new__(worker.TimedThreadWorker)
    w.alive = True
    w.slots = threading.Semaphore(1)
    conn = types.SimpleNamespace(sock=types.SimpleNamespace(slots=None, flush=lambda: None))
    return w, conn, served


def test_a_next_request_that_comes_at_once_is_served_by_the_same_thread(monkeypatch):
    w, conn, served = handling(monkeypatch, [True, True, True], [True, True, False])
    assert w.handle(conn) is True  # then to the event loop, kept alive
    assert served.calls == 3


def test_a_connection_to_close_is_not_lingered_on(monkeypatch):
    w, conn, served = handling(monkeypatch, [False], [])  # next_head would fail: not called
    assert w.handle(conn) is False
    assert served.calls == 1


def test_a_stopping_worker_does_not_linger(monkeypatch):
    w, conn, served = handling(monkeypatch, [True], [])
    w.alive = False
    assert w.handle(conn) is True
    assert served.calls == 1


def test_a_client_gone_at_the_final_flush_is_not_kept_alive(monkeypatch):
    w, conn, _served = handling(monkeypatch, [True], [])

    def gone() -> None:
        raise BrokenPipeError

    conn.sock.flush = gone
    assert w.handle(conn) is False


def test_a_running_worker_reads_its_settings_as_plain_attributes(monkeypatch):
    monkeypatch.setattr(worker.ThreadWorker, "run", lambda self: None)
    w = make(30)
    w.cfg = Config()
    w.run()
    assert w.cfg.__dict__["limit_request_line"] == w.cfg.settings["limit_request_line"].get()
