"""``TimedThreadWorker``: gunicorn's gthread worker, hardened against slow and idle clients.

gthread gives each connection to a request thread as soon as it is accepted, and that thread
reads the request with blocking reads and no timeout: a few dozen clients that connect and
say nothing, drip their headers or stall in their upload hold every thread of every worker.
Here:

* request heads are read on the worker's main loop (``imgreg.server.heads``): a connection gets
  a request thread only once its request line and headers are complete, and is closed if
  they are not within ``client_header_timeout``;
* a request thread reads the body with a ``client_body_timeout`` limit on each silence, and
  writes with ``client_socket_timeout``; in the body, the app sees a ``TimeoutError`` and
  rolls the upload back;
* the pool has a thread for every connection a worker accepts (``worker_connections``, made
  lazily), but only ``threads`` of them run a request at once: a thread gives its slot up
  while it waits for body bytes and takes it back once they are there. Stalled uploads cost
  a thread and a file descriptor each, never the slots the other requests run in.

A connection waiting for its next request holds no thread (gunicorn's poller keeps it for
``keepalive_timeout``).
"""

from __future__ import annotations

import contextlib
import os
import resource
import socket
import threading
import time
from collections.abc import Iterator
from concurrent import futures
from typing import Any

from gunicorn.workers.gthread import ThreadWorker

from imgreg.server import dates, direct_body, frozen
from imgreg.server.heads import HeadReader
from imgreg.server.linger import next_head

HOLD_MAX = 16384  # a response head up to this size waits for the first body bytes
JOIN_MAX = 65536  # body bytes up to this size go out in one send with the held head


class TimedSocket(socket.socket):
    """A client socket whose blocking mode carries a read timeout, a longer write timeout,
    and which gives up its request slot (``slots``, while a request thread owns it) for as
    long as a read waits.

    While a request thread owns it (``slots`` set), a response head gunicorn writes on its
    own (``HTTP/…`` up to the blank line) is held back and goes out with the body bytes that
    follow, in one send and one TCP segment instead of two: a small response costs the
    server, and the client, one send and one wake-up less. Anything else the socket does (a
    read, a ``sendfile``, the end of the request: ``flush``) sends the held head first, so
    a ``100 Continue`` or an interim ``104`` is out before the request thread waits for the
    body.
    """

    read_timeout: float = 60.0
    write_timeout: float = 900.0

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.slots: threading.Semaphore | None = None
        self.held = b""

    def flush(self) -> None:
        """Send the held response head, if any."""
        if self.held:
            head, self.held = self.held, b""
            with self._writing():
                super().sendall(head)

    @classmethod
    def adopt(cls, sock: socket.socket) -> TimedSocket:
        blocking = sock.getblocking()
        timed = cls(sock.family, sock.type, sock.proto, fileno=sock.detach())
        timed.setblocking(blocking)
        return timed

    def setblocking(self, flag: bool) -> None:
        if flag:
            if self.gettimeout() != self.read_timeout:  # gthread sets it for every request
                self.settimeout(self.read_timeout)
        else:
            super().setblocking(False)

    def recv(self, bufsize: int, flags: int = 0) -> bytes:
        self.flush()
        slots = self.slots
        if slots is None:
            return super().recv(bufsize, flags)
        slots.release()
        try:
            return super().recv(bufsize, flags)
        finally:
            slots.acquire()

    def recv_into(self, buffer: Any, nbytes: int = 0, flags: int = 0) -> int:
        self.flush()
        slots = self.slots
        if slots is None:
            return super().recv_into(buffer, nbytes, flags)
        slots.release()
        try:
            return super().recv_into(buffer, nbytes, flags)
        finally:
            slots.acquire()

    @contextlib.contextmanager
    def _writing(self) -> Iterator[None]:
        """Writes wait ``write_timeout``; a timeout someone else set is left alone."""
        if self.gettimeout() != self.read_timeout or self.read_timeout == self.write_timeout:
            yield
            return
        self.settimeout(self.write_timeout)
        try:
            yield
        finally:
            self.settimeout(self.read_timeout)

    def send(self, data: Any, flags: int = 0) -> int:
        self.flush()
        with self._writing():
            return super().send(data, flags)

    def sendall(self, data: Any, flags: int = 0) -> None:
        if self.held:
            if len(data) <= JOIN_MAX:
                data, self.held = self.held + bytes(data), b""
            else:
                self.flush()
        elif (
            self.slots is not None
            and len(data) <= HOLD_MAX
            and data[:5] == b"HTTP/"
            and data[-4:] == b"\r\n\r\n"
        ):
            self.held = bytes(data)
            return
        if not flags and self.gettimeout():  # a timeout: the descriptor is non-blocking
            # what the socket buffer takes at once, in one write: a timed socket's send
            # would poll first and switch to the write timeout and back (three syscalls)
            try:
                sent = os.write(self.fileno(), data)
            except (BlockingIOError, InterruptedError):
                sent = 0
            if sent == len(data):
                return
            data = memoryview(data)[sent:]
        with self._writing():
            super().sendall(data, flags)

    def sendfile(self, file: Any, offset: int = 0, count: int | None = None) -> int:
        self.flush()
        with self._writing():
            return super().sendfile(file, offset, count)


class Limits:
    """The client limits, set by ``configure`` before gunicorn forks the workers."""

    header_timeout = 60.0
    linger = 0.0


def configure(
    socket_timeout: float, header_timeout: float, body_timeout: float, linger: float = 0.0
) -> None:
    TimedSocket.write_timeout = socket_timeout
    TimedSocket.read_timeout = min(body_timeout, socket_timeout)
    Limits.header_timeout = header_timeout
    Limits.linger = linger
    dates.install()


def raise_nofile_limit() -> int:
    """Soft RLIMIT_NOFILE up to the hard limit (every held connection is a descriptor);
    returns the soft limit now in force."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != hard:
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


class TimedThreadWorker(ThreadWorker):
    """gthread with a head reader on its main loop, ``TimedSocket`` client sockets, and a
    pool of ``worker_connections`` threads sharing ``threads`` slots.

    gthread also tells the arbiter it is alive (a ``utime`` on its heartbeat file) on every
    turn of its event loop, that is for every request: a tenth of the CPU of a small GET.
    Once per ``HEARTBEAT_SECONDS`` (or a quarter of the arbiter's ``timeout``, if shorter) is
    plenty for an arbiter that waits ``timeout`` seconds.
    """

    HEARTBEAT_SECONDS = 1.0
    _heartbeat_at = 0.0

    def notify(self) -> None:
        now = time.monotonic()
        if now - self._heartbeat_at >= min(self.HEARTBEAT_SECONDS, self.timeout / 4):
            self._heartbeat_at = now
            super().notify()

    def get_thread_pool(self) -> futures.ThreadPoolExecutor:
        self.slots = threading.Semaphore(self.cfg.threads)
        size = max(self.cfg.threads, self.cfg.worker_connections)
        return futures.ThreadPoolExecutor(max_workers=size, thread_name_prefix="request")

    def run(self) -> None:
        self.heads = HeadReader(self, Limits.header_timeout)
        frozen.freeze(self.cfg)
        super().run()

    def enqueue_req(self, conn: Any) -> None:
        """Every way gthread has of giving a connection to the pool comes here: it goes to
        the head reader first, and to the pool once its head is in."""
        if not isinstance(conn.sock, TimedSocket):
            conn.sock = TimedSocket.adopt(conn.sock)
        if getattr(conn, "head_ready", False):
            conn.head_ready = False
            super().enqueue_req(conn)
        else:
            self.heads.watch(conn)

    def murder_pending(self) -> None:
        super().murder_pending()
        self.heads.expire()

    def handle_request(self, req: Any, conn: Any) -> Any:
        """gunicorn's, with the body read by ``direct_body`` where it can be: one copy of
        each byte between the socket and the application instead of several."""
        direct_body.install(req)
        return super().handle_request(req, conn)

    def handle(self, conn: Any) -> Any:
        while True:
            with self.slots:
                conn.sock.slots = self.slots
                try:
                    result = super().handle(conn)
                finally:
                    conn.sock.slots = None
                    try:
                        conn.sock.flush()
                    except OSError:
                        result = False  # the client is gone: the main loop closes it
            if result is not True or not self.alive or not next_head(conn, Limits.linger):
                return result
