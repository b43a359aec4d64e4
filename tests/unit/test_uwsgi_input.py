"""``imgreg.server.uwsgi_input.ChunkedInput``: a file over uWSGI's chunk-at-a-time reads. (A real
uWSGI serving uploads is ``tests/e2e/test_uwsgi.py``.)"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from imgreg.server.uwsgi_input import ChunkedInput, adapt

CHUNKS = [b"ab", b"cde\nfg", b"", b"h\n", b"ijklmnop"]  # an empty chunk is the end
DATA = b"ab" + b"cde\nfg"


def feeder(chunks: list[bytes]) -> tuple[Callable[[], bytes], list[int]]:
    """A ``next_chunk`` that returns ``chunks`` in turn, then b"" for ever; and a call count."""
    calls = [0]

    def next_chunk() -> bytes:
        calls[0] += 1
        return chunks[calls[0] - 1] if calls[0] <= len(chunks) else b""

    return next_chunk, calls


@pytest.mark.parametrize("size", [1, 2, 3, 4, 7, 100])
def test_reads_of_any_size_give_the_body_up_to_the_empty_chunk(size: int) -> None:
    stream = ChunkedInput(feeder(CHUNKS)[0])
    parts = []
    while part := stream.read(size):
        parts.append(part)
    assert b"".join(parts) == DATA
    assert all(len(part) == size for part in parts[:-1])  # short only at the end
    assert 0 < len(parts[-1]) <= size
    assert stream.read(size) == b"" and stream.read() == b""


def test_read_all_and_read_none() -> None:
    assert ChunkedInput(feeder(CHUNKS)[0]).read() == DATA
    assert ChunkedInput(feeder(CHUNKS)[0]).read(None) == DATA
    stream = ChunkedInput(feeder(CHUNKS)[0])
    assert stream.read(3) == b"abc"
    assert stream.read(-1) == b"de\nfg"


def test_a_whole_chunk_is_handed_on_without_a_copy() -> None:
    chunk = b"x" * (1 << 20)
    stream = ChunkedInput(feeder([chunk])[0])
    assert stream.read(4 << 20) is chunk


def test_read_zero_asks_for_no_chunk() -> None:
    next_chunk, calls = feeder(CHUNKS)
    assert ChunkedInput(next_chunk).read(0) == b""
    assert calls[0] == 0


def test_nothing_is_asked_for_after_the_end() -> None:
    next_chunk, calls = feeder([b"only"])
    stream = ChunkedInput(next_chunk)
    assert stream.read() == b"only"
    assert stream.read(10) == b"" and stream.readline() == b""
    assert calls[0] == 2  # "only", then the end; never a read past it


def test_readline_and_iteration() -> None:
    stream = ChunkedInput(feeder([b"one\ntw", b"o\nthree"])[0])
    assert stream.readline() == b"one\n"
    assert stream.readline(2) == b"tw"
    assert stream.readline() == b"o\n"
    assert list(stream) == [b"three"]
    assert list(ChunkedInput(feeder([b"a\nb\n"])[0])) == [b"a\n", b"b\n"]


def test_a_failing_chunk_read_is_raised_to_the_reader() -> None:
    def broken() -> bytes:
        raise OSError("unable to receive chunked part")

    with pytest.raises(OSError, match="chunked part"):
        ChunkedInput(broken).read(10)


@pytest.mark.parametrize(
    "environ",
    [
        {"HTTP_TRANSFER_ENCODING": "chunked"},  # not uWSGI: gunicorn decodes chunks itself
        {"uwsgi.version": b"2.0.31", "CONTENT_LENGTH": "3"},  # uWSGI, a sized body
    ],
)
def test_adapt_leaves_other_requests_alone(environ: dict[str, Any]) -> None:
    before = {**environ, "wsgi.input": object()}
    environ = dict(before)
    adapt(environ, 5)
    assert environ == before
