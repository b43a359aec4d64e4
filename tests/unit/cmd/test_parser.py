"""``imgreg.server.parser``: gunicorn's request parser with the peer's trust remembered per
address and no drain after a body read to its end; gunicorn's answers unchanged."""

from __future__ import annotations

import ipaddress
import socket
import types
from collections.abc import Iterator
from typing import Any

import pytest
from gunicorn import config
from gunicorn.http import wsgi
from gunicorn.http.parser import RequestParser as GunicornParser

from imgreg.server import parser as request_parser

FORWARDED = (
    b"GET /v2/images HTTP/1.1\r\nHost: example.test\r\n"
    b"X-Forwarded-Proto: https\r\nX-Forwarded-For: 203.0.113.9\r\n\r\n"
)


@pytest.fixture(autouse=True)
def fresh_memo() -> Iterator[None]:
    request_parser.Request._trusted.clear()
    yield
    request_parser.Request._trusted.clear()


@pytest.fixture
def pair() -> Iterator[tuple[socket.socket, socket.socket]]:
    server, client = socket.socketpair()
    yield server, client
    server.close()
    client.close()


def parse(cfg: config.Config, peer: tuple[str, int], count: int = 1) -> list[Any]:
    parser = request_parser.RequestParser(cfg, iter([FORWARDED] * count), peer)
    return [next(parser) for _ in range(count)]


def environ(cfg: config.Config, req: Any, peer: tuple[str, int]) -> dict[str, Any]:
    class Sock:
        def sendall(self, data: bytes) -> None:
            pass

    return wsgi.create(req, Sock(), peer, ("127.0.0.1", 9292), cfg)[1]


def test_a_trusted_peer_sets_the_scheme_an_untrusted_one_does_not() -> None:
    cfg = config.Config()
    cfg.set("forwarded_allow_ips", "127.0.0.1")
    for _ in range(2):  # the second time from the memo
        trusted = parse(cfg, ("127.0.0.1", 5000))[0]
        untrusted = parse(cfg, ("198.51.100.7", 5000))[0]
        assert isinstance(trusted, request_parser.Request)
        assert trusted.scheme == "https"
        assert untrusted.scheme == "http"
        assert environ(cfg, trusted, ("127.0.0.1", 5000))["wsgi.url_scheme"] == "https"
        assert environ(cfg, untrusted, ("198.51.100.7", 5000))["wsgi.url_scheme"] == "http"
    assert request_parser.Request._trusted == {"127.0.0.1": True, "198.51.100.7": False}


def test_the_trust_is_looked_up_once_per_address(monkeypatch: Any) -> None:
    cfg = config.Config()
    seen: list[str] = []
    real = ipaddress.ip_address

    def counting(value: str) -> Any:
        seen.append(value)
        return real(value)

    monkeypatch.setattr(ipaddress, "ip_address", counting)
    parse(cfg, ("127.0.0.1", 5000), count=5)
    parse(cfg, ("127.0.0.1", 5001), count=5)
    assert seen == ["127.0.0.1"]


def test_the_memo_starts_over_when_full(monkeypatch: Any) -> None:
    monkeypatch.setattr(request_parser, "TRUST_CACHE_MAX", 3)
    cfg = config.Config()
    for last in range(1, 6):
        parse(cfg, (f"192.0.2.{last}", 5000))
        assert len(request_parser.Request._trusted) <= 3
    assert "192.0.2.5" in request_parser.Request._trusted


def parsed(raw: bytes, pair: tuple[socket.socket, socket.socket]) -> Any:
    """This module's parser over a socket pair, past the head of ``raw``."""
    server, client = pair
    client.sendall(raw)
    parser = request_parser.RequestParser(config.Config(), server, ("127.0.0.1", 1))
    next(parser)
    return parser


@pytest.mark.parametrize(
    ("raw", "done"),
    [
        (b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", True),
        (b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n", True),
        (b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc", False),
        (b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", False),
    ],
)
def test_only_a_body_known_to_be_read_is_done(raw, done, pair):
    assert request_parser.body_done(parsed(raw, pair)) is done


def test_a_body_read_to_its_end_is_done(pair):
    parser = parsed(b"PUT / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc", pair)
    assert parser.mesg.body.read() == b"abc"
    assert request_parser.body_done(parser)


class CountingSocket(socket.socket):
    timeouts = 0

    def settimeout(self, value: Any) -> None:
        type(self).timeouts += 1
        super().settimeout(value)


def test_the_next_request_after_a_get_touches_no_socket_timeout(pair):
    server, client = pair
    counted = CountingSocket(fileno=server.detach())
    client.sendall(b"GET /a HTTP/1.1\r\nHost: x\r\n\r\nGET /b HTTP/1.1\r\nHost: x\r\n\r\n")
    parser = request_parser.RequestParser(config.Config(), counted, ("127.0.0.1", 1))
    assert next(parser).path == "/a"
    CountingSocket.timeouts = 0
    assert parser.finish_body(deadline=1e18)  # the worker's drain after the response
    assert next(parser).path == "/b"
    assert CountingSocket.timeouts == 0
    counted.close()


def test_a_body_left_unread_is_still_drained(pair):
    server, client = pair
    client.sendall(
        b"POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello"
        b"GET /b HTTP/1.1\r\nHost: x\r\n\r\n"
    )
    parser = request_parser.RequestParser(config.Config(), server, ("127.0.0.1", 1))
    assert next(parser).path == "/a"
    assert not request_parser.body_done(parser)
    assert next(parser).path == "/b"  # the unread "hello" was drained, not parsed


def test_adopt_replaces_only_a_fresh_http1_parser(pair):
    server, _ = pair
    cfg = config.Config()
    conn = types.SimpleNamespace(cfg=cfg, sock=server, client=("127.0.0.1", 1))
    conn.parser = GunicornParser(cfg, server, conn.client)
    request_parser.adopt(conn)
    assert type(conn.parser) is request_parser.RequestParser
    assert conn.parser.unreader.sock is server

    used = GunicornParser(cfg, server, conn.client)
    used.unreader.unread(b"GET / HTTP/1.1\r\n")
    conn.parser = used
    request_parser.adopt(conn)
    assert conn.parser is used

    class Other(GunicornParser):
        pass

    other = Other(cfg, server, conn.client)
    conn.parser = other
    request_parser.adopt(conn)
    assert conn.parser is other
