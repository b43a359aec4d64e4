"""One SQLite writer at a time per database file, queued without SQLite's long sleeps.

SQLite lets one connection write at a time; ``BEGIN IMMEDIATE`` on another waits in SQLite's
busy handler, which polls with sleeps growing to 100 ms. Under several workers and threads a
writer then often sleeps long after the lock was given up: create/PATCH/upload cycles at
concurrency 16 saw p99 latencies of 0.6-1.5 s that way. So writers first queue here: on a
thread lock within the process, then on an ``flock`` of ``<database>.writer-lock`` across the
processes of the host (``imgreg-api`` workers, ``imgreg-manage``). Threads are woken the moment
the holder lets go; another process's waiter looks again every 5 ms at most; the kernel drops
the ``flock`` of a process that dies. SQLite's own busy handler stays as the fallback for
writers that do not use this gate (the sqlite3 shell).
"""

from __future__ import annotations

import contextlib
import fcntl
import functools
import os
import threading
import time
import weakref
from collections.abc import Iterator

POLL_MIN = 0.0005
POLL_MAX = 0.005


class GateTimeout(Exception):
    """The gate stayed taken for longer than the caller would wait."""


class WriterGate:
    def __init__(self, database: str) -> None:
        self.path = f"{database}.writer-lock"
        self._fd = -1  # opened on first use, in each process
        self._lock = threading.RLock()
        self._depth = 0  # nested holds by the owning thread
        # flock belongs to the open file: a descriptor inherited across fork is shared with the
        # parent and its other children and would exclude nothing between them, so a child
        # forgets it (and a lock some parent thread held at the fork) and opens its own
        os.register_at_fork(after_in_child=functools.partial(_forget_in_child, weakref.ref(self)))

    def _forget(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
        self._fd = -1
        self._lock = threading.RLock()
        self._depth = 0

    @contextlib.contextmanager
    def held(self, timeout: float) -> Iterator[None]:
        """Hold the gate; ``GateTimeout`` if it stayed taken for ``timeout`` seconds (a writer
        that hangs must not stall every other one for ever: SQLite's busy timeout gave up too).
        """
        deadline = time.monotonic() + timeout
        if not self._lock.acquire(timeout=timeout):
            raise GateTimeout(self.path)
        try:
            if self._depth == 0:
                self._take_file_lock(deadline)
            self._depth += 1
            try:
                yield
            finally:
                self._depth -= 1
                if self._depth == 0:
                    fcntl.flock(self._fd, fcntl.LOCK_UN)
        finally:
            self._lock.release()

    def _take_file_lock(self, deadline: float) -> None:
        # Another process's writer is waited for in short naps (at most POLL_MAX): a blocking
        # flock would wake at once but could not give up at the deadline. Within a process,
        # threads queue on the lock above and are woken at once.
        if self._fd < 0:
            self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        nap = POLL_MIN
        while True:
            try:
                fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise GateTimeout(self.path) from None
                time.sleep(nap)
                nap = min(nap * 2, POLL_MAX)


def _forget_in_child(ref: weakref.ref[WriterGate]) -> None:
    gate = ref()
    if gate is not None:
        gate._forget()
