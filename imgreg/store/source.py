"""What the object-store drivers share: the upload stream read in blocks, counted, checked
against its declared size and hashed on the way (``Source``), and the test for a blob name
(``is_uuid``: blobs are named by the image id, in its canonical lower-case form)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import BinaryIO

from imgreg.domain import errors
from imgreg.integrity.hashing import DualHasher

BLOCK = 1024 * 1024  # what one read from the upload stream asks for


def is_uuid(name: str) -> bool:
    try:
        return str(uuid.UUID(name)) == name
    except ValueError:
        return False


class Source:
    """The upload stream as an object store reads it: counted, checked against the expected
    size, hashed. An error of the stream (or a wrong size) is kept, so that ``add`` re-raises it
    as it was, whatever the HTTP client wrapped it in."""

    def __init__(self, stream: BinaryIO, expected: int | None, hasher: DualHasher) -> None:
        self.stream = stream
        self.expected = expected
        self.hasher = hasher
        self.size = 0
        self.error: BaseException | None = None

    def read(self, want: int) -> bytes:
        try:
            if self.expected is not None:
                want = min(want, self.expected - self.size + 1)
            buf = self.stream.read(want)
            self.size += len(buf)
            if self.expected is not None and self.size > self.expected:
                raise errors.Invalid(
                    f"Size exceeds: expected {self.expected} bytes, got more than that"
                )
            if not buf and self.expected is not None and self.size != self.expected:
                raise errors.Invalid(
                    f"Size mismatch: expected {self.expected} bytes, got {self.size} bytes"
                )
        except BaseException as exc:
            self.error = exc
            raise
        if buf:
            self.hasher.update(buf)
        return buf

    def body(self, first: bytes, limit: float) -> Iterator[bytes]:
        """``first``, then what follows, up to ``limit`` bytes in all or the stream's end."""
        sent = len(first)
        yield first
        while sent < limit:
            buf = self.read(int(min(BLOCK, limit - sent)))
            if not buf:
                return
            sent += len(buf)
            yield buf
