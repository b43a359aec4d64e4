"""``imgreg.server.direct_body``: request bodies read straight into a reused buffer, decoded as
gunicorn's readers decode them (the same bytes, the same errors, the same next request)."""

from __future__ import annotations

import contextlib
import random
import socket
import threading

import pytest
import webob
from gunicorn.config import Config
from gunicorn.http.body import Body
from gunicorn.http.errors import ChunkMissingTerminator, InvalidChunkSize, NoMoreData
from gunicorn.http.parser import RequestParser

from imgreg.api.image_data import ClientStream
from imgreg.domain import errors
from imgreg.server import direct_body
from imgreg.server import parser as request_parser

HEAD = b"PUT /v2/images/x/file HTTP/1.1\r\nHost: x\r\n"
CHUNKED = HEAD + b"Transfer-Encoding: chunked\r\n\r\n"
NEXT = b"GET /next HTTP/1.1\r\nHost: x\r\n\r\n"


class Trickle:
    """A socket whose reads return at most ``step`` bytes: every piece of framing split
    across reads somewhere."""

    def __init__(self, sock: socket.socket, step: int) -> None:
        self.sock = sock
        self.step = step
        self.recv_intos = 0

    def recv(self, size: int) -> bytes:
        return self.sock.recv(min(size, self.step))

    def recv_into(self, buffer, nbytes: int = 0) -> int:
        self.recv_intos += 1
        return self.sock.recv_into(buffer, min(nbytes or len(buffer), self.step))


@pytest.fixture
def pair():
    server, client = socket.socketpair()
    server.settimeout(5)
    yield server, client
    server.close()
    client.close()


def parse(pair, raw: bytes, step: int = 1 << 20, close: bool = True):
    """gunicorn's parser past the head of ``raw`` (sent at once), its request given a direct
    body; the client's side closed after ``raw`` when ``close``."""
    server, client = pair

    def send() -> None:
        with contextlib.suppress(OSError):  # the test may be over (and the socket closed)
            client.sendall(raw)
            if close:
                client.shutdown(socket.SHUT_WR)

    threading.Thread(target=send, daemon=True).start()
    sock = Trickle(server, step)
    parser = RequestParser(Config(), sock, ("127.0.0.1", 1))
    return parser, next(parser), sock


def chunked(pieces: list[bytes], ext: bytes = b"", trailer: bytes = b"") -> bytes:
    framed = b"".join(b"%x%s\r\n%s\r\n" % (len(p), ext, p) for p in pieces)
    return CHUNKED + framed + b"0\r\n" + trailer + b"\r\n"


def read_all(body, size: int) -> bytes:
    out = []
    while data := body.read(size):
        out.append(data)
    return b"".join(out)


def test_a_length_body_is_read_with_recv_into_then_the_next_request(pair):
    data = random.Random(1).randbytes(300_000)
    raw = HEAD + b"Content-Length: %d\r\n\r\n" % len(data) + data + NEXT
    parser, req, sock = parse(pair, raw, step=65536)
    assert direct_body.install(req)
    assert isinstance(req.body, direct_body.DirectBody)
    assert req.body.read(100_000) == data[:100_000]
    assert read_all(req.body, 4 << 20) == data[100_000:]
    assert sock.recv_intos >= 1
    assert request_parser.body_done(parser)
    assert next(parser).path == "/next"


@pytest.mark.parametrize("step", [1, 2, 3, 7, 4096, 1 << 20])
@pytest.mark.parametrize("size", [1, 5, 1000, 4 << 20])
def test_chunked_bodies_decode_as_gunicorn_decodes_them(pair, step, size):
    rng = random.Random(step * 31 + size)
    pieces = [rng.randbytes(rng.choice([1, 2, 15, 16, 17, 255, 4096, 70_000])) for _ in range(9)]
    raw = chunked(pieces, ext=b' ; name="v;al" ;x') + NEXT
    parser, req, _sock = parse(pair, raw, step)
    assert direct_body.install(req)
    assert read_all(req.body, size) == b"".join(pieces)
    assert req.body.read(size) == b""
    assert next(parser).path == "/next"  # what followed the last chunk went back


def test_trailers_are_parsed_and_what_follows_them_is_kept(pair):
    raw = chunked([b"abc"], trailer=b"X-Sum: 1\r\nX-More: 2\r\n") + NEXT
    parser, req, _sock = parse(pair, raw, step=5)
    assert direct_body.install(req)
    assert req.body.read(10) == b"abc"
    assert req.body.read(10) == b""
    assert ("X-SUM", "1") in req.trailers
    assert next(parser).path == "/next"


@pytest.mark.parametrize(
    ("body", "error"),
    [
        (b"3\r\nabc\r\nzz\r\nab\r\n0\r\n\r\n", InvalidChunkSize),  # not hex
        (b"3\r\nabc\r\n\r\n", InvalidChunkSize),  # an empty size line
        (b"3\r\nabcXY2\r\nab\r\n0\r\n\r\n", ChunkMissingTerminator),  # longer than said
        (b"3\r\nab", NoMoreData),  # the client went away mid-chunk
        (b"3\r\nabc", ChunkMissingTerminator),  # ... before the chunk's CRLF
        (b"3\r\nabc\r\n", NoMoreData),  # ... before the next size line
        (b"3\r\nabc\r\n" + b"1" * 9000, InvalidChunkSize),  # a size line with no end
        (b"0\r\nX-Bad\r\n\r\n", Exception),  # a broken trailer: gunicorn's own error
    ],
)
def test_a_broken_chunked_encoding_fails_the_body(pair, body, error):
    _parser, req, _sock = parse(pair, CHUNKED + body, step=4)
    assert direct_body.install(req)
    with pytest.raises(error):
        read_all(req.body, 4 << 20)
    assert req.body.failed  # the connection is not reused


def test_a_broken_body_is_the_clients_error_400(pair):
    _parser, req, _sock = parse(pair, CHUNKED + b"3\r\nabc\r\nzz\r\n")
    assert direct_body.install(req)
    with pytest.raises(errors.Invalid):
        ClientStream(req.body).read(4 << 20)


def test_a_body_shorter_than_its_content_length_fails(pair):
    raw = HEAD + b"Content-Length: 10\r\n\r\nabc"
    _parser, req, _sock = parse(pair, raw)
    assert direct_body.install(req)
    with pytest.raises(NoMoreData):
        req.body.read(10)
    assert req.body.failed


def test_a_body_sent_after_100_continue_is_read(pair):
    """The head alone first (the client waits for ``100 Continue``): installing reads
    nothing from the socket; the body that comes later is read."""
    _server, client = pair
    raw = HEAD + b"Expect: 100-continue\r\nContent-Length: 5\r\n\r\n"
    parser, req, _sock = parse(pair, raw, close=False)
    assert req._expected_100_continue
    assert direct_body.install(req)
    client.sendall(b"hello" + NEXT)
    assert req.body.read(100) == b"hello"
    assert next(parser).path == "/next"


def test_lines_and_small_reads_still_work(pair):
    raw = chunked([b"one\ntw", b"o\nthree"]) + NEXT
    parser, req, _sock = parse(pair, raw, step=3)
    assert direct_body.install(req)
    assert req.body.readline() == b"one\n"
    assert req.body.read(2) == b"tw"
    assert list(req.body) == [b"o\n", b"three"]
    assert next(parser).path == "/next"


@pytest.mark.parametrize(
    "raw",
    [
        b"GET / HTTP/1.1\r\nHost: x\r\n\r\n",  # no body
        HEAD + b"Content-Length: 0\r\n\r\n",
        HEAD + b"Content-Length: 3\r\nUpgrade: h2c\r\nConnection: Upgrade\r\n\r\nabc",
    ],
)
def test_anything_else_keeps_gunicorns_body(pair, raw):
    _parser, req, _sock = parse(pair, raw)
    assert not direct_body.install(req)
    assert type(req.body) is Body


def test_a_body_already_read_from_keeps_gunicorns_body(pair):
    _parser, req, _sock = parse(pair, chunked([b"abc", b"def"]))
    assert req.body.read(2) == b"ab"
    assert not direct_body.install(req)
    assert req.body.read(10) == b"cdef"


def test_an_upload_reads_a_direct_content_length_body_without_webobs_wrapper(pair):
    raw = HEAD + b"Content-Length: 5\r\n\r\nhello"
    _parser, req, _sock = parse(pair, raw)
    assert direct_body.install(req)
    request = webob.Request.blank("/", method="PUT", body=b"")
    request.environ.update({"wsgi.input": req.body, "CONTENT_LENGTH": "5"})
    stream = ClientStream.of(request)
    assert stream.body is req.body
    assert stream.read(100) == b"hello"


def test_a_request_read_with_the_head_of_the_one_before_is_kept(pair):
    """A small body and the next request came in the head's read: the surplus beyond the
    body goes back to gunicorn's unreader."""
    parser, req, _sock = parse(pair, HEAD + b"Content-Length: 3\r\n\r\nabc" + NEXT)
    assert direct_body.install(req)
    assert req.body.read(100) == b"abc"
    assert next(parser).path == "/next"
