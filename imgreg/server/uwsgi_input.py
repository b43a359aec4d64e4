"""Chunked request bodies under uWSGI.

uWSGI's ``wsgi.input`` reads nothing of a ``Transfer-Encoding: chunked`` body (the way
glanceclient and the SDK upload a file); the body can only be had one chunk at a time through
``uwsgi.chunked_read()``. ``adapt`` puts a file-like reader over that call in ``wsgi.input``
and sets ``wsgi.input_terminated``, so WebOb and the upload path read the body until its end
exactly as they do under gunicorn. Besides the block a reader asks for (the upload path asks for
4 MiB at a time), the adapter keeps at most the rest of one chunk; a chunk is at most
``chunked-input-limit`` bytes (16 MiB in ``etc/imgreg-uwsgi.ini``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any


class ChunkedInput:
    """``read(size)`` over a function that returns the next chunk, ``b""`` at the end."""

    def __init__(self, next_chunk: Callable[[], bytes]) -> None:
        self.next_chunk = next_chunk
        self.chunk = b""
        self.offset = 0
        self.ended = False

    def _fill(self) -> bool:
        while self.offset >= len(self.chunk) and not self.ended:
            self.chunk, self.offset = self.next_chunk(), 0
            self.ended = not self.chunk
        return self.offset < len(self.chunk)

    def _take(self, end: int) -> bytes:
        if self.offset == 0 and end >= len(self.chunk):  # the whole chunk, without a copy
            data = self.chunk
        else:
            data = self.chunk[self.offset : end]
        self.offset = min(end, len(self.chunk))
        return data

    def read(self, size: int | None = -1) -> bytes:
        """``size`` bytes, fewer only at the end of the body (as a file reads, and as WSGI
        asks); all of the rest when ``size`` is negative or None."""
        want = -1 if size is None else size
        parts = []
        while want != 0 and self._fill():
            end = len(self.chunk) if want < 0 else min(len(self.chunk), self.offset + want)
            part = self._take(end)
            parts.append(part)
            if want > 0:
                want -= len(part)
        return parts[0] if len(parts) == 1 else b"".join(parts)

    def readline(self, size: int | None = -1) -> bytes:  # WSGI asks for it; uploads never call it
        parts: list[bytes] = []
        left = size if size is not None and size >= 0 else -1
        while left != 0 and self._fill():
            newline = self.chunk.find(b"\n", self.offset)
            end = len(self.chunk) if newline < 0 else newline + 1
            if left > 0:
                end = min(end, self.offset + left)
                left -= end - self.offset
            parts.append(self._take(end))
            if parts[-1].endswith(b"\n"):
                break
        return b"".join(parts)

    def __iter__(self) -> Iterator[bytes]:
        while line := self.readline():
            yield line


def adapt(environ: dict[str, Any], timeout: int) -> None:
    """Under uWSGI, make a chunked body readable from ``wsgi.input`` (waiting at most
    ``timeout`` seconds for each chunk; a client that stalls longer gets 400)."""
    if "uwsgi.version" not in environ:
        return
    if "chunked" not in environ.get("HTTP_TRANSFER_ENCODING", "").lower():
        return
    import uwsgi  # only importable inside a uWSGI process

    environ["wsgi.input"] = ChunkedInput(lambda: uwsgi.chunked_read(timeout))
    environ["wsgi.input_terminated"] = True
