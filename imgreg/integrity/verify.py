"""``VerifiedReader``: serve a whole blob only if it still matches the CRC-32 taken at upload.

The last chunk is held back until the checksum of everything before it has been checked, so a
corrupted blob is never delivered complete: the response breaks off, the client sees a short
body (its Content-Length is not met), and the corruption is logged.

Reading and checksumming run on a helper thread a couple of chunks ahead of the thread that
sends (file reads, ``crc32`` and socket writes all release the GIL), so verification costs
little throughput. At most ``AHEAD`` chunks wait in between.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Iterator
from typing import Any

from imgreg.domain import errors
from imgreg.domain.ports import BlobReader
from imgreg.integrity.crc import crc32

LOG = logging.getLogger(__name__)
AHEAD = 2
_DONE = object()
# Up to this size a store that can checksum in place is checked before the first byte goes out
# (and may then be sent with sendfile); larger data is checked while it streams, so that a
# client does not wait for a whole huge blob to be read before the response starts.
VERIFY_FIRST_MAX = 1024**3


def verify_crc32(reader: Any, expected: int, image_id: str) -> None:
    crc = reader.crc32()
    if crc != expected:
        reader.close()
        _report(image_id, crc, expected)


class VerifiedReader:
    def __init__(self, reader: BlobReader, crc32: int, image_id: str) -> None:
        self.reader = reader
        self.size = reader.size
        self.expected = crc32
        self.image_id = image_id
        self._stop = threading.Event()

    def _produce(self, out: queue.Queue[Any]) -> None:
        crc = 0
        try:
            for chunk in self.reader:
                crc = crc32(chunk, crc)
                if not self._put(out, chunk):
                    return
            self._put(out, (_DONE, crc))
        except BaseException as exc:
            self._put(out, exc)

    def _put(self, out: queue.Queue[Any], item: Any) -> bool:
        while not self._stop.is_set():
            try:
                out.put(item, timeout=0.5)
                return True
            except queue.Full:
                continue
        return False

    def __iter__(self) -> Iterator[bytes]:
        out: queue.Queue[Any] = queue.Queue(maxsize=AHEAD)
        worker = threading.Thread(target=self._produce, args=(out,), daemon=True)
        worker.start()
        held: bytes | None = None
        try:
            while True:
                item = out.get()
                if isinstance(item, BaseException):
                    raise item
                if isinstance(item, tuple):
                    self._check(item[1])
                    break
                if held is not None:
                    yield held
                held = item
            if held is not None:
                yield held
        finally:
            self._stop.set()
            worker.join(timeout=5)

    def _check(self, crc: int) -> None:
        if crc != self.expected:
            _report(self.image_id, crc, self.expected)

    def close(self) -> None:
        self._stop.set()
        self.reader.close()


def _report(image_id: str, crc: int, expected: int) -> None:
    LOG.error(
        "image %s: stored data fails its checksum (crc32 %08x, expected %08x); refusing to "
        "serve it",
        image_id,
        crc,
        expected,
    )
    raise errors.StoreError(f"Image {image_id} data is corrupt")
