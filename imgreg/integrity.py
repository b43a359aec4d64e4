"""``VerifiedReader``: serve a whole blob only if it still matches the CRC-32 taken at upload.

The last chunk is held back until the checksum of everything before it has been checked, so a
corrupted blob is never delivered complete: the response breaks off, the client sees a short
body (its Content-Length is not met), and the corruption is logged.
"""

from __future__ import annotations

import logging
import zlib
from collections.abc import Iterator

from imgreg.domain import errors
from imgreg.store import BlobReader

LOG = logging.getLogger(__name__)


class VerifiedReader:
    def __init__(self, reader: BlobReader, crc32: int, image_id: str) -> None:
        self.reader = reader
        self.size = reader.size
        self.expected = crc32
        self.image_id = image_id

    def __iter__(self) -> Iterator[bytes]:
        crc = 0
        held: bytes | None = None
        for chunk in self.reader:
            crc = zlib.crc32(chunk, crc)
            if held is not None:
                yield held
            held = chunk
        if crc != self.expected:
            LOG.error(
                "image %s: stored data fails its checksum (crc32 %08x, expected %08x); "
                "refusing to serve it",
                self.image_id,
                crc,
                self.expected,
            )
            raise errors.StoreError(f"Image {self.image_id} data is corrupt")
        if held is not None:
            yield held

    def close(self) -> None:
        self.reader.close()
