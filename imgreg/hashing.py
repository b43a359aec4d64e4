"""Hash a stream with two digests at once (plus a CRC-32 for download verification).

hashlib releases the GIL for buffers over 2 KiB, so md5 and the multihash run on two threads
while the caller writes the same buffer; an upload then costs about one hash's time, not two.
"""

from __future__ import annotations

import concurrent.futures
import hashlib
import zlib
from typing import Any

PARALLEL_MIN = 64 * 1024  # below this, thread hand-off costs more than it saves


class DualHasher:
    def __init__(self, algo: str) -> None:
        self.md5 = hashlib.md5(usedforsecurity=False)
        self.multi = hashlib.new(algo)
        self.algo = algo
        self.crc32 = 0  # a fast checksum, checked on every full download
        self._pool = concurrent.futures.ThreadPoolExecutor(2, thread_name_prefix="hash")
        self._pending: list[concurrent.futures.Future[Any]] = []

    def update(self, data: bytes | memoryview) -> None:
        """Start hashing ``data`` and return at once; the previous buffer's hashing is finished
        first. So the caller's next read and write overlap with this buffer's hashing; the buffer
        must stay unchanged until the next ``update()`` or ``wait()``."""
        self.wait()
        if len(data) < PARALLEL_MIN:
            self.md5.update(data)
            self.multi.update(data)
        else:
            self._pending = [
                self._pool.submit(self.md5.update, data),
                self._pool.submit(self.multi.update, data),
            ]
        # on this thread, while the two hashes run (it only reads the buffer too)
        self.crc32 = zlib.crc32(data, self.crc32)

    def wait(self) -> None:
        for future in self._pending:
            future.result()
        self._pending = []

    def close(self) -> None:
        self.wait()
        self._pool.shutdown(wait=True)

    def __enter__(self) -> DualHasher:
        return self

    def __exit__(self, *exc: object) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)
