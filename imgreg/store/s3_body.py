"""The body of a single S3 PUT of known length, streamed from the upload's ``Source``: the
last block is held back until the source is known to end there, so a source that runs long
fails before the server has every byte (``imgreg.store.s3``)."""

from __future__ import annotations

from imgreg.store.source import BLOCK, Source


class Body:
    """The data of a single PUT as botocore reads it (a file that cannot seek): ``first``, then
    blocks of ``source``. Once ``source`` has given the expected size, one more byte is asked
    for before the last block is handed out: ``source`` raises if the stream goes on."""

    def __init__(self, source: Source, first: bytes) -> None:
        self.source = source
        self.block = memoryview(first)

    def read(self, want: int = -1) -> bytes:
        if not self.block:
            if self.source.size == self.source.expected:
                return b""
            self.block = memoryview(read_block(self.source))
        want = len(self.block) if want is None or want < 0 else want
        piece, self.block = self.block[:want], self.block[want:]
        return bytes(piece)


def read_block(source: Source) -> bytes:
    """The next block of ``source``; at the expected size, after checking that it ends there."""
    buf = source.read(BLOCK)
    if buf and source.size == source.expected:
        source.read(1)  # b"" at the end; raises ``Invalid`` when there is more
    return buf
