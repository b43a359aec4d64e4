"""``HeadReader`` over a socket pair and a recording stand-in for the gthread worker: when a
head is handed on (and with which bytes), refused, or closed."""

from __future__ import annotations

import selectors
import socket
import types
from collections.abc import Iterator
from typing import Any

import pytest
from gunicorn.config import Config
from gunicorn.http.parser import RequestParser
from gunicorn.http.unreader import Unreader

from imgreg.server import heads
from imgreg.server import parser as request_parser


class Conn:
    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.client = ("127.0.0.1", 1)
        self.parser: Any = None
        self.initialized = False
        self.head_ready = False
        self.closed = False

    def init(self) -> None:
        self.initialized = True
        self.parser = types.SimpleNamespace(unreader=Unreader())

    def close(self) -> None:
        self.closed = True
        self.sock.close()


class Worker:
    def __init__(self) -> None:
        self.cfg = types.SimpleNamespace(
            limit_request_line=100, limit_request_fields=4, limit_request_field_size=50
        )
        self.poller = selectors.DefaultSelector()
        self.alive = True
        self.nr_conns = 1
        self.enqueued: list[Conn] = []
        self.errors: list[Exception] = []
        self.tpool = self
        self.method_queue = types.SimpleNamespace(defer=lambda *a: None)

    def handle_error(self, *args: Any) -> None:  # called on the pool: see submit
        raise AssertionError("not called here")

    def enqueue_req(self, conn: Conn) -> None:
        self.enqueued.append(conn)

    def submit(self, func: Any, req: Any, sock: Any, client: Any, exc: Exception) -> Any:
        self.errors.append(exc)
        return types.SimpleNamespace(add_done_callback=lambda cb: None)

    def pump(self) -> None:
        for key, _ in self.poller.select(0.2):
            key.data(key.fileobj)


@pytest.fixture
def pair() -> Iterator[tuple[Worker, heads.HeadReader, Conn, socket.socket]]:
    server, client = socket.socketpair()
    worker = Worker()
    reader = heads.HeadReader(worker, header_timeout=5)
    conn = Conn(server)
    reader.watch(conn)
    yield worker, reader, conn, client
    client.close()
    server.close()


def buffered(conn: Conn) -> bytes:
    return bytes(conn.parser.unreader.buf.getvalue())


def test_a_head_in_many_pieces_is_handed_on_once_whole(pair) -> None:
    worker, _, conn, client = pair
    head = b"GET /v2/images HTTP/1.1\r\nHost: x\r\nX-A: b\r\n\r\nPIPELINED"
    for byte in head[:-10]:
        client.send(bytes([byte]))
        worker.pump()
        assert not worker.enqueued
    client.send(head[-10:])
    worker.pump()
    assert worker.enqueued == [conn] and conn.head_ready
    assert buffered(conn) == head  # the bytes after the head too, for gunicorn's parser
    assert not worker.poller.get_map()


def test_a_pipelined_head_already_read_goes_on_at_once() -> None:
    server, client = socket.socketpair()
    worker = Worker()
    conn = Conn(server)
    conn.init()
    conn.parser.unreader.unread(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    heads.HeadReader(worker, header_timeout=5).watch(conn)
    assert worker.enqueued == [conn]
    assert buffered(conn) == b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"
    client.close()
    server.close()


@pytest.mark.parametrize(
    "data",
    [
        b"GET /" + b"a" * 200,  # the request line over its limit, not ended
        b"GET /" + b"a" * 200 + b" HTTP/1.1\r\n",  # ended
        b"GET / HTTP/1.1\nHost",  # a bare LF
    ],
)
def test_what_gunicorn_refuses_from_its_buffer_goes_on_at_once(pair, data: bytes) -> None:
    worker, _, conn, client = pair
    client.send(data)
    worker.pump()
    assert worker.enqueued == [conn]
    assert buffered(conn) == data


def test_header_bytes_past_gunicorns_buffer_are_refused_431(pair) -> None:
    worker, _, _, client = pair
    client.send(b"GET / HTTP/1.1\r\n" + b"X: y\r\n" * 40)  # over 4 x (50 + 2) + 4 bytes
    worker.pump()
    assert not worker.enqueued
    assert [type(e).__name__ for e in worker.errors] == ["LimitRequestHeaders"]


def test_a_client_gone_mid_head_is_closed_and_uncounted(pair) -> None:
    worker, _, conn, client = pair
    client.send(b"GET / HTTP/1.1\r\nHo")
    worker.pump()
    client.close()
    worker.pump()
    assert conn.closed and worker.nr_conns == 0 and not worker.enqueued


def test_a_stopping_worker_waits_briefly_for_a_head(pair, monkeypatch) -> None:
    worker, reader, conn, _ = pair
    clock = [heads.time.monotonic()]
    monkeypatch.setattr(heads.time, "monotonic", lambda: clock[0])
    clock[0] += 1
    reader.expire()
    assert not conn.closed
    worker.alive = False  # stopping: STOP_LINGER (2 s) more, not the 4 s left of 5
    reader.expire()
    clock[0] += 1.5
    reader.expire()
    assert not conn.closed
    clock[0] += 1
    reader.expire()
    assert conn.closed and worker.nr_conns == 0


def test_a_late_head_is_closed(pair, monkeypatch) -> None:
    worker, reader, conn, client = pair
    client.send(b"GET / HTTP/1.1\r\n")
    worker.pump()
    clock = [heads.time.monotonic()]
    monkeypatch.setattr(heads.time, "monotonic", lambda: clock[0])
    clock[0] += 4.5
    reader.expire()
    assert not conn.closed
    clock[0] += 1
    reader.expire()
    assert conn.closed and worker.nr_conns == 0 and not worker.enqueued


def test_a_handed_on_connection_parses_with_the_trust_memo() -> None:
    """The connection gets ``imgreg.server.parser``'s parser and builds its ``Request``."""

    class RealConn(Conn):
        cfg = Config()

        def init(self) -> None:
            self.initialized = True
            self.parser = RequestParser(self.cfg, self.sock, self.client)

    server, client = socket.socketpair()
    worker = Worker()
    conn = RealConn(server)
    heads.HeadReader(worker, header_timeout=5).watch(conn)
    client.send(b"GET /v2/images HTTP/1.1\r\nHost: x\r\n\r\n")
    worker.pump()
    assert worker.enqueued == [conn]
    assert type(conn.parser) is request_parser.RequestParser
    assert isinstance(next(conn.parser), request_parser.Request)
    client.close()
    server.close()
