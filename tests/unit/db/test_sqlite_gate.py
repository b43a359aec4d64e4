"""WriterGate: one SQLite writer at a time across threads and processes, also after a fork."""

from __future__ import annotations

import multiprocessing
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import text

from imgreg.db import session as session_module
from imgreg.db.session import Database
from imgreg.db.sqlite_gate import GateTimeout, WriterGate
from imgreg.domain import errors

BLOCKED_FOR = 0.3  # seconds a waiter is given to (wrongly) get through


def test_a_second_thread_waits_until_the_first_lets_go(tmp_path: Path) -> None:
    gate = WriterGate(str(tmp_path / "db.sqlite"))
    entered = threading.Event()

    def second() -> None:
        with gate.held(10):
            entered.set()

    with gate.held(10):
        thread = threading.Thread(target=second)
        thread.start()
        assert not entered.wait(BLOCKED_FOR)
    assert entered.wait(10)
    thread.join(10)


def test_the_same_thread_may_nest(tmp_path: Path) -> None:
    gate = WriterGate(str(tmp_path / "db.sqlite"))
    with gate.held(10), gate.held(10):
        pass
    with gate.held(10):  # and it was let go of afterwards
        pass


def _hold_in_child(gate: WriterGate, started: object, entered: object, release: object) -> None:
    started.set()  # type: ignore[attr-defined]
    with gate.held(10):
        entered.set()  # type: ignore[attr-defined]
        release.wait(10)  # type: ignore[attr-defined]


def test_a_forked_child_excludes_its_parent(tmp_path: Path) -> None:
    """The child inherits the gate with the parent's open lock file; if it kept using that
    file, flock would let it in while the parent holds the gate."""
    gate = WriterGate(str(tmp_path / "db.sqlite"))
    ctx = multiprocessing.get_context("fork")
    started, entered, release = ctx.Event(), ctx.Event(), ctx.Event()
    with gate.held(10):  # opens the parent's lock file before the fork
        child = ctx.Process(target=_hold_in_child, args=(gate, started, entered, release))
        child.start()
        assert started.wait(10)
        assert not entered.wait(BLOCKED_FOR), "the child got in while the parent held the gate"
    assert entered.wait(10)
    # now the child holds it: the parent waits in turn
    got_in = threading.Event()

    def parent_again() -> None:
        with gate.held(10):
            got_in.set()

    thread = threading.Thread(target=parent_again)
    thread.start()
    assert not got_in.wait(BLOCKED_FOR)
    release.set()
    assert got_in.wait(10)
    thread.join(10)
    child.join(10)
    assert child.exitcode == 0


def test_sqlite_writes_go_through_the_gate(tmp_path: Path) -> None:
    path = tmp_path / "imgreg.sqlite"
    db = Database(f"sqlite:///{path}")
    with db.write() as session:
        session.execute(text("CREATE TABLE t (n INTEGER)"))
    assert (tmp_path / "imgreg.sqlite.writer-lock").exists()
    entered = threading.Event()

    def write() -> None:
        with db.write() as session:
            entered.set()
            session.execute(text("INSERT INTO t VALUES (1)"))

    assert db._gate is not None
    with db._gate.held(10):
        thread = threading.Thread(target=write)
        thread.start()
        assert not entered.wait(BLOCKED_FOR)
    thread.join(10)
    with db.query() as conn:
        assert conn.execute(text("SELECT count(*) FROM t")).scalar() == 1
    db.dispose()


def test_a_gate_held_elsewhere_too_long_times_out(tmp_path: Path) -> None:
    """Another process holding the gate: the wait ends at the timeout, as SQLite's busy
    timeout did, instead of for ever."""
    gate = WriterGate(str(tmp_path / "db.sqlite"))
    ctx = multiprocessing.get_context("fork")
    started, entered, release = ctx.Event(), ctx.Event(), ctx.Event()
    child = ctx.Process(target=_hold_in_child, args=(gate, started, entered, release))
    child.start()
    try:
        assert entered.wait(10)
        t0 = time.monotonic()
        with pytest.raises(GateTimeout), gate.held(0.3):
            pass
        assert 0.3 <= time.monotonic() - t0 < 5
    finally:
        release.set()
        child.join(10)
    with gate.held(10):  # let go of by the child: free again
        pass


def test_database_write_answers_503_when_no_turn_comes(tmp_path: Path, monkeypatch) -> None:
    db = Database(f"sqlite:///{tmp_path / 'imgreg.sqlite'}")
    monkeypatch.setattr(session_module, "SQLITE_BUSY_SECONDS", 0.2)
    assert db._gate is not None
    failure: list[BaseException] = []

    def write() -> None:
        try:
            with db.write():
                pass
        except BaseException as exc:
            failure.append(exc)

    with db._gate.held(10):
        thread = threading.Thread(target=write)
        thread.start()
        thread.join(10)
    assert len(failure) == 1 and isinstance(failure[0], errors.ServiceUnavailable)
    db.dispose()
