"""``VerifiedReader``: serve a whole blob only if it still matches the CRC-32 taken at upload.

The last chunk is held back until the checksum of everything before it has been checked, so a
corrupted blob is never delivered complete: the response breaks off, the client sees a short
body (its Content-Length is not met), and the corruption is logged.

Reading and checksumming run on a helper thread a couple of chunks ahead of the thread that
sends (file reads, ``zlib.crc32`` and socket writes all release the GIL), so verification costs
little throughput. At most ``AHEAD`` chunks wait in between.
"""

from __future__ import annotations

import logging
import queue
import threading
import zlib
from collections.abc import Iterator
from typing import Any

from imgreg.domain import errors
from imgreg.store import BlobReader

LOG = logging.getLogger(__name__)
AHEAD = 2
_DONE = object()


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
                crc = zlib.crc32(chunk, crc)
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
            LOG.error(
                "image %s: stored data fails its checksum (crc32 %08x, expected %08x); "
                "refusing to serve it",
                self.image_id,
                crc,
                self.expected,
            )
            raise errors.StoreError(f"Image {self.image_id} data is corrupt")

    def close(self) -> None:
        self._stop.set()
        self.reader.close()
