"""The reaper's cluster-wide lock (``imgreg.db.sweep_lock``, ``imgreg.maintenance.reaper.sweep``) on
the run's real database: processes racing for it, each with its own engine as separate nodes would,
never sweep at the same time; a hold that ran out passes on; a holder of this node that died
mid-sweep is taken over at once."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
import threading
import time
import types

import pytest

from imgreg.db import sweep_lock
from imgreg.db.session import Database
from imgreg.domain import errors
from imgreg.maintenance import reaper, recovery

HOLD = dt.timedelta(seconds=30)
RACERS = 4
SECONDS = 1.5
# a race that counts takes goes on past SECONDS until it has ENOUGH of them, won by more than
# one racer, or until MAX_SECONDS: on a busy machine (or SQLite, one writer at a time) 1.5 s
# may hold only ten takes, all by one racer
ENOUGH = 20
MAX_SECONDS = 20.0


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


class Overlap:
    """Counts who is inside the critical section; remembers the most at once."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.inside = 0
        self.most = 0
        self.entries: list[str] = []

    def enter(self, who: str) -> None:
        with self.lock:
            self.inside += 1
            self.most = max(self.most, self.inside)
            self.entries.append(who)

    def leave(self) -> None:
        with self.lock:
            self.inside -= 1


def race(urls: list[str], attempt, overlap: Overlap | None = None) -> None:  # type: ignore[no-untyped-def]
    """``RACERS`` threads, each with its own Database (on ``urls`` in turn), calling
    ``attempt(db, name)`` for ``SECONDS`` (given ``overlap``: and on until it holds ``ENOUGH``
    entries by more than one racer, ``MAX_SECONDS`` at most); a conflict the database refuses
    (Galera's certification) counts as lost."""
    dbs = [Database(urls[i % len(urls)]) for i in range(RACERS)]
    start = threading.Barrier(RACERS)
    failures: list[BaseException] = []

    def run(db: Database, name: str) -> None:
        start.wait()
        started = time.monotonic()

        def going() -> bool:
            elapsed = time.monotonic() - started
            if overlap is None or elapsed >= MAX_SECONDS:
                return elapsed < SECONDS
            with overlap.lock:
                enough = len(overlap.entries) >= ENOUGH and len(set(overlap.entries)) > 1
            return elapsed < SECONDS or not enough

        while going():
            try:
                attempt(db, name)
            except errors.ServiceUnavailable:
                pass
            except BaseException as exc:
                failures.append(exc)
                return

    threads = [threading.Thread(target=run, args=(db, f"racer-{i}")) for i, db in enumerate(dbs)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(MAX_SECONDS + 30)
    for db in dbs:
        db.dispose()
    assert failures == []


def test_racing_takers_never_both_hold_the_lock(clean_db):
    racing_takers([clean_db])


def racing_takers(urls: list[str]) -> None:
    overlap = Overlap()

    def attempt(db: Database, name: str) -> None:
        if sweep_lock.take(db, "reaper", name, now(), HOLD):
            overlap.enter(name)
            time.sleep(0.002)
            overlap.leave()
            sweep_lock.release(db, "reaper", name, now(), swept=False)
        else:
            # a loser that tried again at once would keep SQLite's writer gate busy: the
            # holder, whose release waits its turn in short naps, could then hardly ever
            # let go, and one racer would hold nearly every take
            time.sleep(0.001)

    race(urls, attempt, overlap)
    assert overlap.most == 1
    assert len(overlap.entries) >= ENOUGH
    assert len(set(overlap.entries)) > 1  # really a race: more than one of them won


def services(db: Database, period: float) -> types.SimpleNamespace:
    conf = types.SimpleNamespace(upload_reaper_interval=period, upload_lease_seconds=60)
    return types.SimpleNamespace(conf=conf, db=db)


@pytest.mark.parametrize("due_only", [False, True], ids=["forced", "periodic"])
def test_racing_reapers_never_both_sweep(clean_db, monkeypatch, due_only):
    overlap = Overlap()
    period = 0.5

    def fake_reap(svc, heartbeat) -> recovery.Reaped:  # type: ignore[no-untyped-def]
        overlap.enter(svc.holder)
        heartbeat()  # the lock is still ours
        time.sleep(0.005)
        overlap.leave()
        return recovery.Reaped()

    monkeypatch.setattr(recovery, "reap", fake_reap)

    def attempt(db: Database, name: str) -> None:
        svc = services(db, period)
        svc.holder = name
        reaper.sweep(svc, name, due_only=due_only)  # type: ignore[arg-type]

    race([clean_db], attempt, None if due_only else overlap)
    assert overlap.most == 1
    if due_only:  # about one sweep a period, whoever runs it (three or so: one racer may win
        # them all on a busy machine, so who won is not asserted)
        assert 2 <= len(overlap.entries) <= SECONDS / (0.9 * period) + 1
    else:
        assert len(overlap.entries) >= ENOUGH
        assert len(set(overlap.entries)) > 1  # really a race: more than one of them won


def test_a_hold_that_ran_out_passes_on_and_the_old_holder_stops(db, monkeypatch):
    monkeypatch.setattr(recovery, "reap", lambda svc, heartbeat: recovery.Reaped())
    assert sweep_lock.take(db, "reaper", "old", now() - 2 * HOLD, HOLD)  # ran out long ago
    assert not sweep_lock.take(db, "reaper", "early", now() - 2 * HOLD, HOLD)  # it still held
    assert sweep_lock.take(db, "reaper", "new", now(), HOLD)
    assert not sweep_lock.renew(db, "reaper", "old", now(), HOLD)
    assert sweep_lock.holder_of(db, "reaper") == "new"
    svc = services(db, 1.0)
    assert reaper.sweep(svc, "third") is None  # type: ignore[arg-type]
    sweep_lock.release(db, "reaper", "new", now())
    assert sweep_lock.holder_of(db, "reaper") is None
    assert reaper.sweep(svc, "third") is None  # type: ignore[arg-type]  # not due yet
    assert reaper.sweep(svc, "third", due_only=False) is not None  # type: ignore[arg-type]


def test_a_holder_of_this_node_that_died_is_taken_over_at_once(db, monkeypatch):
    monkeypatch.setattr(recovery, "reap", lambda svc, heartbeat: recovery.Reaped())
    child = subprocess.run(
        [
            sys.executable,
            "-c",
            "from imgreg.maintenance import reaper; print(reaper.holder_name())",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    dead = child.stdout.strip()
    assert reaper.gone_from_here(dead)
    elsewhere = dead.replace(dead.split(":")[0], "another-host", 1)
    alive = reaper.holder_name()
    svc = services(db, 1.0)
    for holder in (elsewhere, alive):
        assert not reaper.gone_from_here(holder)
        assert sweep_lock.take(db, "reaper", holder, now(), HOLD)
        assert reaper.sweep(svc, "successor", due_only=False) is None  # type: ignore[arg-type]
        sweep_lock.release(db, "reaper", holder, now(), swept=False)
    assert sweep_lock.take(db, "reaper", dead, now(), HOLD)
    assert reaper.sweep(svc, "successor", due_only=False) is not None  # type: ignore[arg-type]
    assert sweep_lock.holder_of(db, "reaper") is None


def test_the_lock_row_comes_back_if_it_was_deleted(db):
    from sqlalchemy import delete

    from imgreg.db.models import SweepLockRow

    with db.write() as session:
        session.execute(delete(SweepLockRow))
    assert sweep_lock.take(db, "reaper", "first", now(), HOLD)
    assert not sweep_lock.take(db, "reaper", "second", now(), HOLD)
