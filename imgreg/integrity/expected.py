"""The digests a client says its upload has (``Repr-Digest``), checked before the data is kept.

The store already hashes the data with the multihash (``hashing_algorithm``); an algorithm
the client names that the store does not compute (sha-256 under the default sha512) is hashed
here, on the thread that reads the upload, and only when asked for.
"""

from __future__ import annotations

import hashlib
from typing import BinaryIO, Protocol

from imgreg.domain import errors

NAMES = {"sha256": "sha-256", "sha512": "sha-512"}  # for messages: RFC 9530's names


class Readable(Protocol):
    def read(self, size: int = -1) -> bytes: ...


class DigestingReader:
    """Passes reads through, hashing what they return with each of ``algorithms``."""

    def __init__(self, stream: BinaryIO | Readable, algorithms: list[str]) -> None:
        self.stream = stream
        self.hashers = {algo: hashlib.new(algo) for algo in algorithms}

    def read(self, size: int = -1) -> bytes:
        data = self.stream.read(size)
        for hasher in self.hashers.values():
            hasher.update(data)
        return data

    def digests(self) -> dict[str, bytes]:
        return {algo: hasher.digest() for algo, hasher in self.hashers.items()}


def check(expected: tuple[tuple[str, bytes], ...], computed: dict[str, bytes]) -> None:
    """``Invalid`` (400) naming the first algorithm whose digest differs."""
    for algo, digest in expected:
        if computed.get(algo) != digest:
            name = NAMES.get(algo, algo)
            raise errors.Invalid(
                f"The uploaded data does not match its Repr-Digest: the {name} digest of the "
                "data received differs from the one the request named. Nothing was stored."
            )
