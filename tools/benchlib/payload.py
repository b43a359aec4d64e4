"""The data the upload, download and cycle phases send, and its digests."""

from __future__ import annotations

import hashlib
import os
import threading
from collections.abc import Iterator

from .sizes import MiB


class Payload:
    """``mib`` blocks of one random MiB, and the md5/sha512 of the whole (computed once)."""

    def __init__(self, mib: int) -> None:
        self.mib = mib
        self.block = os.urandom(MiB)
        self._digests: dict[str, str] = {}
        self._lock = threading.Lock()

    def blocks(self) -> Iterator[bytes]:
        for _ in range(self.mib):
            yield self.block

    def digest(self, algo: str) -> str:
        with self._lock:
            if algo not in self._digests:
                h = hashlib.new(algo)
                for block in self.blocks():
                    h.update(block)
                self._digests[algo] = h.hexdigest()
            return self._digests[algo]
