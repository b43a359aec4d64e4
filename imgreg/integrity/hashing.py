"""Hash a stream with two digests at once (plus a CRC-32 for download verification).

md5 and the multihash each have a thread of their own, fed in order through a queue: hashlib
releases the GIL for buffers over 2 KiB, so the two run on two cores while the caller reads and
writes, and one that finishes a buffer early starts on the next instead of waiting for the
other. ``depth`` buffers may be in flight: 1 keeps the old contract (a buffer is done with by
the next ``update``); more smooths out the two hashes' uneven speeds, at ``depth`` buffers of
memory.
"""

from __future__ import annotations

import collections
import concurrent.futures
import hashlib
from typing import Any

from imgreg.integrity.crc import crc32

PARALLEL_MIN = 64 * 1024  # below this, thread hand-off costs more than it saves


class DualHasher:
    def __init__(self, algo: str, depth: int = 1) -> None:
        self.md5 = hashlib.md5(usedforsecurity=False)
        self.multi = hashlib.new(algo)
        self.algo = algo
        self.crc32 = 0  # a fast checksum, checked on every full download
        self.depth = max(1, depth)
        # one single-thread executor per digest, so that each digest's updates stay in order;
        # made at the second buffer: a one-buffer upload costs no thread at all
        self._threads: tuple[concurrent.futures.ThreadPoolExecutor, ...] = ()
        self._first = True
        self._pending: collections.deque[tuple[Any, Any]] = collections.deque()

    def update(self, data: bytes | memoryview) -> None:
        """Start hashing ``data`` and return at once, once fewer than ``depth`` earlier buffers
        are still being hashed. ``data`` must stay unchanged until ``depth`` more updates or a
        ``wait()`` have returned."""
        while len(self._pending) >= self.depth:
            self._finish_oldest()
        if self._first or (len(data) < PARALLEL_MIN and not self._pending):
            self.md5.update(data)
            self.multi.update(data)
        else:
            if not self._threads:
                self._threads = (
                    concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="md5"),
                    concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="hash"),
                )
            md5_thread, multi_thread = self._threads
            self._pending.append(
                (
                    md5_thread.submit(self.md5.update, data),
                    multi_thread.submit(self.multi.update, data),
                )
            )
        self._first = False
        # on this thread, while the two hashes run (it only reads the buffer too)
        self.crc32 = crc32(data, self.crc32)

    def _finish_oldest(self) -> None:
        for future in self._pending.popleft():
            future.result()

    def wait(self) -> None:
        while self._pending:
            self._finish_oldest()

    def close(self) -> None:
        self.wait()
        self._shutdown(cancel=False)

    def _shutdown(self, cancel: bool) -> None:
        for thread in self._threads:
            thread.shutdown(wait=True, cancel_futures=cancel)

    def __enter__(self) -> DualHasher:
        return self

    def __exit__(self, *exc: object) -> None:
        self._shutdown(cancel=True)
