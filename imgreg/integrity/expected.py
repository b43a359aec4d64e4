"""The digests a client says its upload has (``Repr-Digest``), checked before the data is kept.

The store already hashes the data with the multihash (``hashing_algorithm``); an algorithm
the store does not compute (sha-256 under the default sha512: named by the client, or kept
for downloads' ``Repr-Digest`` with ``upload_sha256``) is hashed here, on a thread of its own:
the buffers a read returns are ``bytes``, never changed once made, so they are handed over
without a copy, and hashlib releases the GIL while it hashes them; the reading thread waits
only when ``DEPTH`` buffers are still queued (memory stays at a few buffers).
"""

from __future__ import annotations

import collections
import concurrent.futures
import hashlib
from typing import BinaryIO, Protocol

from imgreg.domain import errors

NAMES = {"sha256": "sha-256", "sha512": "sha-512"}  # for messages: RFC 9530's names
DEPTH = 4  # buffers queued for the hashing thread before a read waits


class Readable(Protocol):
    def read(self, size: int = -1) -> bytes: ...


class DigestingReader:
    """Passes reads through, hashing what they return with each of ``algorithms``: the first
    buffer on the reading thread, the others on a thread of its own. ``close()`` ends the thread;
    ``digests()`` waits for the hashing of everything read."""

    def __init__(self, stream: BinaryIO | Readable, algorithms: list[str]) -> None:
        self.stream = stream
        self.hashers = [hashlib.new(algo) for algo in algorithms]
        self._first = True
        self._thread: concurrent.futures.ThreadPoolExecutor | None = None
        self._pending: collections.deque[concurrent.futures.Future[None]] = collections.deque()

    def read(self, size: int = -1) -> bytes:
        data = self.stream.read(size)
        if not data or not self.hashers:
            return data
        if self._first:  # hashed here: a one-buffer upload (most small ones) starts no thread
            self._first = False
            self._update(data)
            return data
        if self._thread is None:
            self._thread = concurrent.futures.ThreadPoolExecutor(1, "digest")
        while len(self._pending) >= DEPTH:
            self._pending.popleft().result()
        self._pending.append(self._thread.submit(self._update, bytes(data)))
        return data

    def _update(self, data: bytes) -> None:
        for hasher in self.hashers:
            hasher.update(data)

    def digests(self) -> dict[str, bytes]:
        while self._pending:
            self._pending.popleft().result()
        return {hasher.name: hasher.digest() for hasher in self.hashers}

    def close(self) -> None:
        if self._thread is not None:
            self._thread.shutdown(wait=True, cancel_futures=True)
            self._pending.clear()


def check(expected: tuple[tuple[str, bytes], ...], computed: dict[str, bytes]) -> None:
    """``Invalid`` (400) naming the first algorithm whose digest differs."""
    for algo, digest in expected:
        if computed.get(algo) != digest:
            name = NAMES.get(algo, algo)
            raise errors.Invalid(
                f"The uploaded data does not match its Repr-Digest: the {name} digest of the "
                "data received differs from the one the request named. Nothing was stored."
            )
