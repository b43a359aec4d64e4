"""gunicorn's HTTP/1 request parser, without two costs it pays on every request.

* **The peer's trust.** Every request parses the peer's address with ``ipaddress`` and tests
  it against each network of ``forwarded_allow_ips``, twice (2-4 % of a schema GET's Python
  time). ``Request`` remembers the answer for each peer address, per worker (a worker's
  ``forwarded_allow_ips`` never changes).
* **The drain before the next request.** Before it parses a kept-alive connection's next
  request, gunicorn drains what is left of the last one's body: it reads the socket's
  timeout, reads the body (nothing left, for a GET) and sets the timeout back, one
  ``ioctl`` and several calls per request (and gthread's worker drains once more, the
  same way, after the response). ``RequestParser.finish_body``, which both call, skips that
  when the body is known to be read to its end (``body_done``); a body the application left
  unread is still drained as gunicorn drains it.

``adopt`` gives a connection this parser in place of the one gunicorn just made for it.
"""

from __future__ import annotations

from typing import Any

from gunicorn.http import parser as gunicorn_parser
from gunicorn.http.body import LengthReader
from gunicorn.http.message import Request as GunicornRequest

from imgreg.server import direct_body

TRUST_CACHE_MAX = 4096  # peer addresses remembered per worker before the memo starts over


def body_done(parser: Any) -> bool:
    """True when the current request's body is known to be read to its end: a sized body
    (or none) with no byte left to read or buffered."""
    body = getattr(getattr(parser, "mesg", None), "body", None)
    reader = getattr(body, "reader", None)
    read_out = (isinstance(reader, LengthReader) and reader.length == 0) or (
        isinstance(reader, direct_body.DirectReader) and reader.finished
    )
    return (
        read_out
        and not body.failed  # type: ignore[union-attr]
        and body.buf.tell() == 0  # type: ignore[union-attr]
        and not body.buf.getvalue()  # type: ignore[union-attr]
    )


class Request(GunicornRequest):
    """gunicorn's request, with the peer's trust looked up once per address and worker."""

    _trusted: dict[str, bool] = {}

    def _peer_is_trusted_proxy(self) -> bool:
        peer = self.peer_addr
        if not isinstance(peer, tuple):
            return True  # a UNIX socket: as gunicorn decides
        trusted = self._trusted.get(peer[0])
        if trusted is None:
            trusted = bool(super()._peer_is_trusted_proxy())
            if len(self._trusted) >= TRUST_CACHE_MAX:
                self._trusted.clear()
            self._trusted[peer[0]] = trusted
        return trusted


class RequestParser(gunicorn_parser.RequestParser):
    mesg_class = Request

    def finish_body(self, deadline: float | None = None, max_bytes: int | None = None) -> bool:
        if body_done(self):
            return True
        return bool(super().finish_body(deadline=deadline, max_bytes=max_bytes))


def adopt(conn: Any) -> None:
    """Replace the HTTP/1 parser gunicorn has just made for ``conn`` (nothing parsed or
    buffered yet) with a ``RequestParser`` over the same socket; any other parser stays."""
    old = conn.parser
    if (
        type(old) is gunicorn_parser.RequestParser
        and old.mesg is None
        and not old.unreader.buf.getvalue()
    ):
        conn.parser = RequestParser(conn.cfg, conn.sock, conn.client)
