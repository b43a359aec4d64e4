"""``next_head``: what a request thread does with its kept-alive connection for a moment
after a response, over a socket pair."""

from __future__ import annotations

import socket
import threading
import time
import types
from collections.abc import Iterator
from typing import Any

import pytest
from gunicorn.http.unreader import Unreader

from imgreg.server.linger import next_head


class Conn:
    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.parser: Any = types.SimpleNamespace(unreader=Unreader())


@pytest.fixture
def pair() -> Iterator[tuple[Conn, socket.socket]]:
    server, client = socket.socketpair()
    server.settimeout(60)  # as TimedSocket: a timeout, so a non-blocking descriptor
    yield Conn(server), client
    client.close()
    server.close()


def buffered(conn: Conn) -> bytes:
    return bytes(conn.parser.unreader.buf.getvalue())


def test_a_whole_head_sent_within_the_linger_is_kept_for_this_thread(pair) -> None:
    conn, client = pair
    head = b"GET /v2/images HTTP/1.1\r\nHost: x\r\n\r\n"
    threading.Timer(0.05, client.send, (head,)).start()
    assert next_head(conn, 1.0)
    assert buffered(conn) == head


def test_nothing_within_the_linger_goes_back_to_the_event_loop(pair) -> None:
    conn, _ = pair
    started = time.monotonic()
    assert not next_head(conn, 0.05)
    assert time.monotonic() - started < 0.5
    assert buffered(conn) == b""


def test_half_a_head_goes_back_with_its_bytes_for_the_head_reader(pair) -> None:
    conn, client = pair
    client.send(b"GET /v2/images HTTP/1.1\r\nHo")
    assert not next_head(conn, 1.0)
    assert buffered(conn) == b"GET /v2/images HTTP/1.1\r\nHo"


def test_a_closed_connection_goes_back_to_the_event_loop(pair) -> None:
    conn, client = pair
    client.close()
    assert not next_head(conn, 1.0)


def test_no_linger_reads_nothing(pair) -> None:
    conn, client = pair
    client.send(b"GET / HTTP/1.1\r\n\r\n")
    assert not next_head(conn, 0)
    assert buffered(conn) == b""


def test_bytes_read_ahead_go_to_the_event_loops_path(pair) -> None:
    conn, client = pair
    conn.parser.unreader.unread(b"GET / HT")
    client.send(b"TP/1.1\r\n\r\n")
    assert not next_head(conn, 1.0)
    assert buffered(conn) == b"GET / HT"  # nothing read behind them
