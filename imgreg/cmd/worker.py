"""``TimedThreadWorker``: gunicorn's gthread worker with read timeouts on client sockets.

gthread reads a request's headers and body with blocking reads and no timeout, so a client
that sends one byte now and then holds a thread for as long as it likes; with a few of them
every thread of a worker is gone. Here each client socket gets two limits:

* ``client_socket_timeout``: the longest silence on any read or write (a stalled upload, a
  client that declared a Content-Length and stopped sending). In the body, the app sees a
  ``TimeoutError`` and rolls the upload back.
* ``client_header_timeout``: from the first byte of a request to the end of its headers. A
  client that drips headers is cut off when it runs out, however steadily it drips.

A connection waiting for its next request holds no thread (gunicorn's poller keeps it for
``keepalive_timeout``), so neither limit applies there.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import time
from typing import Any

from gunicorn.http.errors import NoMoreData
from gunicorn.workers.gthread import ThreadWorker

LOG = logging.getLogger(__name__)


class TimedSocket(socket.socket):
    """A client socket whose blocking mode always carries a timeout, and which can be given a
    deadline for the headers of the request being read."""

    idle_timeout: float = 900.0
    header_timeout: float = 60.0

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.header_deadline: float | None = None
        self.reading_headers = False

    @classmethod
    def adopt(cls, sock: socket.socket) -> TimedSocket:
        blocking = sock.getblocking()
        timed = cls(sock.family, sock.type, sock.proto, fileno=sock.detach())
        timed.setblocking(blocking)
        return timed

    def setblocking(self, flag: bool) -> None:
        if flag:
            self.settimeout(self.idle_timeout)
        else:
            super().setblocking(False)

    def expect_request(self) -> None:
        """The next bytes start a request: its headers must be complete in time."""
        self.reading_headers = True
        self.header_deadline = None

    def headers_done(self) -> None:
        self.reading_headers = False
        self.header_deadline = None

    def _arm(self) -> None:
        if not self.reading_headers or self.gettimeout() == 0.0:
            return
        now = time.monotonic()
        if self.header_deadline is None:
            self.header_deadline = now + self.header_timeout
        left = self.header_deadline - now
        if left <= 0:
            raise self._give_up("request headers not complete")
        self.settimeout(min(left, self.idle_timeout))

    def _give_up(self, why: str) -> NoMoreData:
        """Drop the connection the way gunicorn drops a client that went away."""
        try:
            peer = self.getpeername()
        except OSError:
            peer = "?"
        LOG.info("closing connection from %s: %s in time", peer, why)
        self.headers_done()
        # Shut both ways now, so gunicorn's graceful close (on its main loop) finds nothing
        # to drain from a client that is still dripping.
        with contextlib.suppress(OSError):
            super().shutdown(socket.SHUT_RDWR)
        return NoMoreData(b"")

    def recv(self, bufsize: int, flags: int = 0) -> bytes:
        self._arm()
        try:
            return super().recv(bufsize, flags)
        except TimeoutError:
            if self.reading_headers:
                raise self._give_up("request headers not complete") from None
            raise

    def recv_into(self, buffer: Any, nbytes: int = 0, flags: int = 0) -> int:
        self._arm()
        try:
            return super().recv_into(buffer, nbytes, flags)
        except TimeoutError:
            if self.reading_headers:
                raise self._give_up("request headers not complete") from None
            raise


def configure(idle_timeout: float, header_timeout: float) -> None:
    """Set both limits; called by ``imgreg-api`` before gunicorn forks the workers."""
    TimedSocket.idle_timeout = idle_timeout
    TimedSocket.header_timeout = header_timeout


class TimedThreadWorker(ThreadWorker):
    """gthread whose client sockets are ``TimedSocket``s (limits set by ``configure``).

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

    def enqueue_req(self, conn: Any) -> None:
        if not isinstance(conn.sock, TimedSocket):
            conn.sock = TimedSocket.adopt(conn.sock)
        super().enqueue_req(conn)

    def handle(self, conn: Any) -> Any:
        conn.sock.expect_request()
        return super().handle(conn)

    def handle_request(self, req: Any, conn: Any) -> Any:
        conn.sock.headers_done()
        return super().handle_request(req, conn)
