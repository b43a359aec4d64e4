"""A download from the store copied into a cache fill on its way to the client.

Block by block: each block goes to the fill, then to the client, so memory stays at one block
whatever the image size. The fill is finished (verified, then made a hit) only when the store's
reader was read to its end without error, and then on a thread of its own (``finish_soon``:
the client has the last byte before the copy is verified); a client that goes away, or a
store read that fails (the store reader's own CRC-32 check included), abandons it. Nothing
the fill does can fail the download (``imgreg.cache.fill``).
"""

from __future__ import annotations

from collections.abc import Iterator

from imgreg.cache.fill import Fill
from imgreg.domain.ports import BlobReader


class ReadThrough:
    def __init__(self, reader: BlobReader, fill: Fill) -> None:
        self.reader = reader
        self.fill = fill
        self.size = reader.size

    def __iter__(self) -> Iterator[bytes]:
        complete = False
        try:
            for chunk in self.reader:
                self.fill.write(chunk)
                yield chunk
            complete = True
        finally:
            if complete:
                self.fill.finish_soon()
            else:
                self.fill.abandon()

    def close(self) -> None:
        self.reader.close()
        self.fill.abandon()  # nothing once finished
