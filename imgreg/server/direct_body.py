"""``install``: a request body read from the socket straight into one reused buffer.

gunicorn's body readers copy each byte of a large body several times on its way to the
application: the unreader and ``ChunkedReader`` gather every ``recv`` in a ``BytesIO``,
``Body.read`` gathers those in another one, and each step slices its result off a joined value.
For a chunked upload that was an eighth of imgreg-api's CPU. ``DirectReader`` instead
``recv_into``\\ s a reused ``bytearray`` and returns what a read asked for with one copy: the
decoded pieces of the buffer joined into the ``bytes`` returned. A Content-Length body is read
up to its end and never further; a chunked one is decoded in the buffer (the size lines
checked by gunicorn's own ``ChunkedReader.parse_chunk_size``, its trailers parsed by it too),
and what follows its last chunk (a pipelined request) goes back to gunicorn's unreader.

The errors are gunicorn's: ``NoMoreData`` when the client goes away before the body's end (a
Content-Length body too: the upload fails, as webob's length check made it fail before),
``InvalidChunkSize``, ``ChunkMissingTerminator`` and the trailers' header errors for a broken
encoding. ``DirectBody`` is gunicorn's ``Body`` (``readline``, iteration, the ``failed`` flag
that stops the connection's reuse) whose ``read`` hands the reader's bytes on without gathering
them again. ``Expect: 100-continue`` is answered by gunicorn before any of this reads.
"""

from __future__ import annotations

import inspect
from typing import Any

from gunicorn.http.body import Body, ChunkedReader, LengthReader
from gunicorn.http.errors import ChunkMissingTerminator, InvalidChunkSize, NoMoreData
from gunicorn.http.unreader import SocketUnreader

MAX_BUFFER = 4 * 1024 * 1024  # what one read fills at most before it joins and starts over
SLACK = 64 * 1024  # room beyond a read's size: chunk framing, and a read that runs ahead
MIN_RECV = 64 * 1024  # a small read (a line, a drain) still asks the socket for this much
LINE_AHEAD = 4096  # a chunked read may take this much beyond what it needs (the next size line)


class DirectReader:
    """The body of one request, read from ``sock``: ``length`` bytes, or chunked when
    ``chunked`` (gunicorn's reader of it) is given. ``initial``: the body's first bytes,
    already read with the head."""

    def __init__(
        self,
        sock: Any,
        unreader: SocketUnreader,
        initial: bytes,
        length: int = 0,
        chunked: ChunkedReader | None = None,
    ) -> None:
        self.sock = sock
        self.unreader = unreader
        self.chunked = chunked
        self.left = length  # bytes of the current chunk (or of the whole body) still to come
        self.need_crlf = False  # a chunk's data ended; its CRLF is next
        self.need_line = chunked is not None  # a chunk-size line is next
        self.finished = chunked is None and length == 0
        self.buf = bytearray(initial)
        self.start = 0  # buf[start:end] is received and not yet consumed
        self.end = len(initial)

    def read(self, size: int) -> bytes:
        """``size`` bytes of the body, fewer only at its end (then ``b""``)."""
        if size <= 0 or self.finished:
            return b""
        self._room(min(size, MAX_BUFFER) + SLACK)
        parts: list[bytes] = []
        views: list[memoryview] = []
        got = 0
        while got < size and not self.finished:
            if self.need_line or self.need_crlf:
                if not self._frame():
                    self._fill(views, parts, size - got)
                continue
            if self.start == self.end:
                self._fill(views, parts, size - got)
                continue
            n = min(self.left, self.end - self.start, size - got)
            views.append(memoryview(self.buf)[self.start : self.start + n])
            self.start += n
            self.left -= n
            got += n
            if not self.left:
                self._chunk_done()
        data = b"".join(views)
        views.clear()
        if parts:
            parts.append(data)
            data = b"".join(parts)
        if self.finished:
            self.buf = bytearray()
            self.start = self.end = 0
        return data

    def _room(self, capacity: int) -> None:
        """At least ``capacity`` bytes of buffer, the unconsumed bytes moved to its start."""
        pending = self.end - self.start
        if len(self.buf) < capacity:
            grown = bytearray(capacity)  # a new buffer: a view of the old one may still live
            grown[:pending] = memoryview(self.buf)[self.start : self.end]
            self.buf = grown
        elif self.start:
            self.buf[:pending] = self.buf[self.start : self.end]
        self.start, self.end = 0, pending

    def _fill(self, views: list[memoryview], parts: list[bytes], wanted: int) -> None:
        """One ``recv_into`` after what the buffer holds; a full buffer is first joined into
        ``parts`` (the views of it taken so far) and its unconsumed bytes moved to its start."""
        if self.end == len(self.buf):
            parts.append(b"".join(views))
            views.clear()
            self._room(len(self.buf))
        space = len(self.buf) - self.end
        wanted = max(wanted, MIN_RECV)
        if self.chunked is None:  # what is wanted of the body, never past its end
            ahead = min(wanted, self.left - (self.end - self.start))
        else:
            ahead = wanted + LINE_AHEAD
        nbytes = min(space, ahead)
        with memoryview(self.buf) as view:
            n = self.sock.recv_into(view[self.end : self.end + nbytes], nbytes)
        if not n:
            if self.need_crlf:
                raise ChunkMissingTerminator(bytes(self.buf[self.start : self.end]))
            raise NoMoreData()
        self.end += n

    def _frame(self) -> bool:
        """Consume the framing that comes next (a chunk's CRLF, a size line); False when
        the buffer does not hold all of it yet."""
        assert self.chunked is not None
        buf = self.buf
        if self.need_crlf:
            if self.end - self.start < 2:
                return False
            if buf[self.start : self.start + 2] != b"\r\n":
                raise ChunkMissingTerminator(bytes(buf[self.start : self.start + 2]))
            self.start += 2
            self.need_crlf = False
            self.need_line = True
        eol = buf.find(b"\r\n", self.start, self.end)
        if eol < 0:
            limit = self.chunked.limit_chunk_size_line
            if self.end - self.start > limit:
                raise InvalidChunkSize(b"line over %d bytes with no terminator" % limit)
            return False
        line = bytes(buf[self.start : eol + 2])
        self.start = eol + 2
        self.need_line = False
        if _is_last(line):  # gunicorn reads the trailers from its unreader: hand them over
            self.unreader.unread(bytes(buf[self.start : self.end]))
            self.start = self.end = 0
        size, _rest = self.chunked.parse_chunk_size(self.unreader, data=line)
        if size == 0:
            self.finished = True
        elif _is_last(line):
            raise InvalidChunkSize(line)  # cannot be: both read the same digits
        else:
            self.left = size
        return True

    def _chunk_done(self) -> None:
        if self.chunked is None:
            self.finished = True
        else:
            self.need_crlf = True


def _is_last(line: bytes) -> bool:
    """Whether a size line (with its CRLF) says 0: the last chunk, trailers next."""
    digits = line.split(b";", 1)[0].rstrip(b"\r\n").rstrip(b" \t")
    return bool(digits) and not digits.strip(b"0")


class DirectBody(Body):
    """gunicorn's ``Body`` over a ``DirectReader``: a read with nothing gathered is the
    reader's own (one copy), anything else is ``Body``'s. ``bounded``: reading it never
    goes past the request's body, so no length-limiting wrapper is needed over it."""

    bounded = True

    def read(self, size: int | None = None) -> bytes:
        size = self.getsize(size)
        if size == 0 or size > MAX_BUFFER or self.buf.tell():
            data: bytes = super().read(size)
            return data
        data = self._read_reader(size)
        return data


def _unread(reader: ChunkedReader) -> bool:
    """Whether gunicorn's chunked reader has not read anything yet."""
    parser = reader.parser
    fresh = parser is not None and inspect.getgeneratorstate(parser) == inspect.GEN_CREATED
    return fresh and not reader.buf.tell()


def install(req: Any) -> bool:
    """Give ``req`` (a request gunicorn parsed from a socket) a ``DirectBody`` if its body is
    a Content-Length or chunked one not yet read, on a socket that has ``recv_into``; True
    if it did. Anything else keeps gunicorn's reader."""
    body: Any = getattr(req, "body", None)
    if type(body) is not Body or body.buf.tell():
        return False
    reader = body.reader
    if type(reader) is LengthReader and reader.length <= 0:
        return False  # no body (most requests): nothing else to look at
    unreader: Any = getattr(req, "unreader", None)
    if type(unreader) is not SocketUnreader or not hasattr(unreader.sock, "recv_into"):
        return False
    if any(name == "UPGRADE" for name, _ in req.headers):
        return False  # an upgrade takes the read-ahead bytes itself
    if type(reader) is LengthReader:
        held = unreader.take_buffered()
        if len(held) > reader.length:  # a pipelined request behind the body
            unreader.unread(held[reader.length :])
            held = held[: reader.length]
        direct = DirectReader(unreader.sock, unreader, held, length=reader.length)
    elif type(reader) is ChunkedReader and _unread(reader):
        held = unreader.take_buffered()
        direct = DirectReader(unreader.sock, unreader, held, chunked=reader)
    else:
        return False
    req.body = DirectBody(direct)
    return True
