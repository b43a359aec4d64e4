"""``HeadReader``: request heads read on a gthread worker's main loop, not on a request thread.

gunicorn's gthread hands a new connection, or a kept-alive one that became readable, to its
thread pool, whose thread then blocks until the request line and headers are in. So a client
that connects and sends nothing, or drips its headers, holds a thread; a few dozen of them
hold every thread. Here a connection waits in the worker's selector instead, its bytes read
without blocking into a buffer, and goes to the pool only once the buffer holds the whole
head (the blank line that ends the headers), the bytes pushed back in front of the socket for
gunicorn's parser, which then parses, limits and answers exactly as before. An idle, silent
or dripping client costs a file descriptor and its buffer, never a thread.

The buffer is bounded by gunicorn's own limits (``limit_request_line``, and the header bytes
``limit_request_fields`` lines of ``limit_request_field_size`` make); a head that breaks one
goes to a thread at once, whose parser refuses it (414, 431 or 400, as gunicorn answers) from
the bytes held. A head that is not complete ``client_header_timeout`` seconds after the
connection was accepted (or, kept alive, sent the first byte of its next request) is closed
without an answer, as is one whose client goes away.
"""

from __future__ import annotations

import collections
import contextlib
import logging
import selectors
import socket
import time
from functools import partial
from typing import Any

from gunicorn.http.errors import LimitRequestHeaders

from imgreg.server import parser

LOG = logging.getLogger(__name__)
RECV_SIZE = 65536
STOP_LINGER = 2.0  # seconds a stopping worker still waits for a head being sent


class Head:
    """A connection whose request head is being read, and what has come of it so far."""

    __slots__ = ("buf", "conn", "deadline", "done", "registered", "scanned")

    def __init__(self, conn: Any, deadline: float) -> None:
        self.conn = conn
        self.deadline = deadline
        self.buf = bytearray()
        self.scanned = 0  # bytes of buf already searched for the end of the head
        self.done = False
        self.registered = False


class HeadReader:
    """Reads heads for ``worker`` (a gthread ``ThreadWorker``) on its selector; hands each
    complete one to ``worker.enqueue_req`` with ``conn.head_ready`` set."""

    def __init__(self, worker: Any, header_timeout: float) -> None:
        self.worker = worker
        self.header_timeout = header_timeout
        cfg = worker.cfg
        self.line_limit = cfg.limit_request_line if cfg.limit_request_line > 0 else 8190
        fields = cfg.limit_request_fields if cfg.limit_request_fields > 0 else 32768
        field_size = cfg.limit_request_field_size if cfg.limit_request_field_size > 0 else 8190
        # what gunicorn's parser buffers after the request line before it gives up (431)
        self.header_limit = fields * (field_size + 2) + 4
        self.waiting: collections.deque[Head] = collections.deque()  # by deadline
        self.stopping = False

    def watch(self, conn: Any) -> None:
        """Read ``conn``'s next request head: at once if its bytes are there (a kept-alive
        connection that became readable, or a pipelined request already buffered), else
        whenever the selector says so."""
        head = Head(conn, time.monotonic() + self.header_timeout)
        if conn.parser is not None:
            head.buf += conn.parser.unreader.take_buffered()
        conn.sock.setblocking(False)
        if self._complete(head) or self._read(head):
            return
        self.worker.poller.register(
            conn.sock, selectors.EVENT_READ, partial(self._on_readable, head)
        )
        head.registered = True
        self.waiting.append(head)

    def _on_readable(self, head: Head, _sock: Any) -> None:
        self._read(head)

    def _read(self, head: Head) -> bool:
        """One non-blocking read; True once the head is dealt with (handed on or closed)."""
        try:
            data = head.conn.sock.recv(RECV_SIZE)
        except (BlockingIOError, InterruptedError):
            return False
        except OSError:
            data = b""
        if not data:  # the client went away mid-head (or before it)
            self._close(head)
            return True
        head.buf += data
        return self._complete(head)

    def _complete(self, head: Head) -> bool:
        """Hand the head on if it ends, or breaks a limit gunicorn's parser checks on what
        it holds; answer 431 if it outgrows the header bytes gunicorn would buffer."""
        buf = head.buf
        if not buf:
            return False
        if buf.find(b"\r\n\r\n", max(0, head.scanned - 3)) >= 0:
            return self._hand_on(head)
        newline = buf.find(b"\n", head.scanned)
        while newline >= 0:
            if newline == 0 or buf[newline - 1] != 0x0D:  # a bare LF: gunicorn refuses it
                return self._hand_on(head)
            newline = buf.find(b"\n", newline + 1)
        head.scanned = len(buf)
        start = 2 if buf.startswith(b"\r\n") else 0  # the one empty line RFC 9112 allows
        line_end = buf.find(b"\r\n", start)
        if line_end < 0:
            if len(buf) - start - 2 > self.line_limit:
                return self._hand_on(head)  # 414 from gunicorn, at once
            return False
        if line_end - start > self.line_limit:
            return self._hand_on(head)
        if len(buf) - line_end - 2 > self.header_limit:
            return self._refuse(head, LimitRequestHeaders("max buffer headers"))
        return False

    def _release(self, head: Head) -> Any:
        head.done = True
        conn = head.conn
        if head.registered:
            with contextlib.suppress(KeyError, ValueError, OSError):
                self.worker.poller.unregister(conn.sock)
        return conn

    def _hand_on(self, head: Head) -> bool:
        conn = self._release(head)
        if not conn.initialized:
            conn.init()  # the HTTP/1 parser (no TLS here, so no I/O); the socket blocking
            parser.adopt(conn)
        conn.sock.setblocking(True)
        conn.parser.unreader.unread(bytes(head.buf))
        conn.head_ready = True
        self.worker.enqueue_req(conn)
        return True

    def _refuse(self, head: Head, exc: Exception) -> bool:
        conn = self._release(head)
        conn.sock.setblocking(True)
        worker = self.worker
        done = worker.tpool.submit(worker.handle_error, None, conn.sock, conn.client, exc)
        done.add_done_callback(
            lambda fut: worker.method_queue.defer(worker.finish_request, conn, fut)
        )
        return True

    def _close(self, head: Head) -> None:
        conn = self._release(head)
        self.worker.nr_conns -= 1
        with contextlib.suppress(OSError):
            conn.sock.shutdown(socket.SHUT_RDWR)
        conn.close()

    def expire(self) -> None:
        """Close the connections whose head is late; called on every turn of the main loop.
        A stopping worker waits at most ``STOP_LINGER`` more seconds for any."""
        now = time.monotonic()
        if not self.worker.alive and not self.stopping:
            self.stopping = True
            for head in self.waiting:  # the same cap for all keeps the deque in order
                head.deadline = min(head.deadline, now + STOP_LINGER)
        while self.waiting and (self.waiting[0].done or self.waiting[0].deadline <= now):
            head = self.waiting.popleft()
            if head.done:
                continue
            try:
                peer = head.conn.sock.getpeername()
            except OSError:
                peer = "?"
            LOG.info("closing connection from %s: request headers not complete in time", peer)
            self._close(head)
