"""The reaper on a timer: ``imgreg.maintenance.recovery.reap`` every ``upload_reaper_interval``
seconds (default half of ``upload_lease_seconds``), in a thread of every server process, so that an
upload whose worker was killed goes back to ``queued`` within about a lease plus a period, with no
restart.

Every worker of every node runs the timer; the ``reaper`` row of ``sweep_locks``
(``imgreg.db.sweep_lock``) lets one of them at a time sweep, and only once the last sweep
anywhere finished a period ago, so the cluster sweeps about once a period. The sweeper renews
its hold before each change and stops if it lost it; one killed mid-sweep blocks the others
for ``hold_seconds`` at most. A database that does not answer costs one log line and a retry
next period. The thread is a daemon that sleeps on an event: ``stop()`` ends it at once, and a
SIGKILLed worker takes it along. imgreg-api starts it in each gunicorn worker after the fork
(``imgreg.cmd.api``); under another server, ``imgreg.wsgi`` starts it with the app.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import socket
import uuid
from collections.abc import Callable

from oslo_config import cfg

from imgreg.db import sweep_lock
from imgreg.domain import errors
from imgreg.maintenance import recovery
from imgreg.maintenance.periodic import PeriodicThread, Slot
from imgreg.services import Services

LOG = logging.getLogger(__name__)
LOCK = "reaper"
MIN_HOLD_SECONDS = 30.0


class LockLost(Exception):
    """The sweep's hold ran out and another process took the lock: stop sweeping."""


def interval(conf: cfg.ConfigOpts) -> float:
    value = conf.upload_reaper_interval
    return conf.upload_lease_seconds / 2 if value is None else float(value)


def hold_seconds(conf: cfg.ConfigOpts) -> float:
    """How long a sweep holds the lock between two renewals (one step: a listing, a delete)."""
    return max(2 * interval(conf), float(conf.upload_lease_seconds), MIN_HOLD_SECONDS)


def _pid_namespace() -> str:
    try:
        return os.readlink("/proc/self/ns/pid").removeprefix("pid:[").removesuffix("]")
    except OSError:
        return "-"


def holder_name() -> str:
    """``host:pid-namespace:pid:random``: unique, and says where the holder runs."""
    host = socket.gethostname()[:160]
    return f"{host}:{_pid_namespace()}:{os.getpid()}:{uuid.uuid4().hex[:12]}"


def gone_from_here(holder: str) -> bool:
    """True when ``holder`` names a process of this host and PID namespace that no longer
    exists (a worker killed mid-sweep); a process elsewhere is never judged."""
    host, namespace, pid, _ = [*holder.rsplit(":", 3), "", "", "", ""][:4]
    if host != socket.gethostname()[:160] or namespace != _pid_namespace() or not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except OSError:  # exists, someone else's
        return False
    return False


def sweep(svc: Services, holder: str, due_only: bool = True) -> recovery.Reaped | None:
    """One sweep under the cluster-wide lock; None when another process holds it or, with
    ``due_only`` (the timer), when the last sweep anywhere finished less than a period ago."""
    hold = dt.timedelta(seconds=hold_seconds(svc.conf))
    # a tenth of a period's slack, so that the process that swept last is due on its next tick
    every = dt.timedelta(seconds=0.9 * interval(svc.conf)) if due_only else None
    if not sweep_lock.take(svc.db, LOCK, holder, _now(), hold, every):
        held_by = sweep_lock.holder_of(svc.db, LOCK)
        if held_by is None or not gone_from_here(held_by):
            return None
        if not sweep_lock.take_over(svc.db, LOCK, held_by, holder, _now(), hold):
            return None
        LOG.warning("reaper: took the lock over from %s, which died mid-sweep", held_by)

    def heartbeat() -> None:
        if not sweep_lock.renew(svc.db, LOCK, holder, _now(), hold):
            raise LockLost(f"the reaper's lock is no longer held by {holder}")

    try:
        done = recovery.reap(svc, heartbeat)
    except BaseException:
        try:  # let the next process try at once; a database that is gone lets the hold run out
            sweep_lock.release(svc.db, LOCK, holder, _now(), swept=False)
        except Exception:
            LOG.debug("reaper: could not release its lock", exc_info=True)
        raise
    sweep_lock.release(svc.db, LOCK, holder, _now())
    return done


def _now() -> dt.datetime:
    """The lock's clock: to the microsecond (the images' ``utcnow`` is to the second)."""
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


class PeriodicReaper(PeriodicThread):
    """``sweep`` every ``period`` seconds."""

    name = "imgreg-reaper"

    def __init__(self, services: Callable[[], Services], period: float) -> None:
        super().__init__(period)
        self.services = services
        self.holder = holder_name()

    def tick(self) -> None:
        try:
            done = sweep(self.services(), self.holder)
        except errors.ServiceUnavailable as exc:
            LOG.warning("periodic reaper: %s; retrying in %s s", exc, self.period)
        except LockLost as exc:
            LOG.warning("periodic reaper: stopped mid-sweep: %s", exc)
        except Exception:  # never let the thread die: the next period retries
            LOG.exception("periodic reaper failed; retrying in %s s", self.period)
        else:
            if done:
                LOG.info("periodic reaper: %s", done)


_slot: Slot[PeriodicReaper] = Slot()


def start(services: Callable[[], Services], conf: cfg.ConfigOpts) -> PeriodicReaper | None:
    """Start this process's timer (once; not at all when the interval is 0)."""
    period = interval(conf)
    if period > 0:
        return _slot.start(lambda: PeriodicReaper(services, period))
    return _slot.running


def stop() -> None:
    _slot.stop()
