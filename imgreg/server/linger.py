"""``next_head``: a request thread's short wait for the next request on its kept-alive connection.

Once a request is answered, gthread hands its connection back to the worker's main loop,
which watches it for the next request and, once that request's head is in
(``imgreg.server.heads``), submits it to the thread pool again. For a client that sends its
next request at once (a client's connection pool, a load balancer's kept-alive backend
connection) that round trip through the main loop costs more CPU than serving a small GET:
a pipe write to wake the loop, two ``epoll_ctl``, a queue hand-off and the thread wake-ups
and GIL hand-overs of each.

So the thread first waits up to ``keepalive_linger`` seconds for the connection to become
readable, holding none of the ``threads`` slots, and reads what is there without blocking.
If that is a whole request head, the thread serves it itself. Otherwise the bytes read go
back in front of the parser and the connection goes to the main loop as before, where the
head reader gives the rest of the head ``client_header_timeout``: a client that is slow to
send its next request (or sends half a head) never holds the thread longer than the linger.
"""

from __future__ import annotations

import os
import select
from typing import Any

RECV_SIZE = 65536
HEAD_END = b"\r\n\r\n"


def next_head(conn: Any, linger: float) -> bool:
    """Wait up to ``linger`` seconds for ``conn``'s next request; True when a whole request
    head is buffered in front of its parser, for this thread to serve."""
    parser = conn.parser
    if parser is None or linger <= 0:
        return False
    if parser.unreader.buf.getvalue():
        return False  # read ahead by a body drain: the main loop's path deals with it
    fd = conn.sock.fileno()
    poller = select.poll()
    poller.register(fd, select.POLLIN)
    try:
        if not poller.poll(linger * 1000.0):
            return False
        # not sock.recv: a socket with a timeout polls once more before it reads
        data = os.read(fd, RECV_SIZE)
    except (BlockingIOError, InterruptedError):
        return False
    except OSError:
        return False  # the main loop finds the connection broken too, and closes it
    if not data:
        return False  # the client closed: the poller sees the end of the stream too
    parser.unreader.unread(data)
    return HEAD_END in data
