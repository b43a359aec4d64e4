"""DualHasher: md5, the multihash and the CRC-32 of a stream, whatever the pipeline depth."""

from __future__ import annotations

import hashlib
import os
import random
import zlib

import pytest

from imgreg.integrity import crc
from imgreg.integrity.hashing import PARALLEL_MIN, DualHasher


@pytest.mark.parametrize("depth", [1, 2, 5])
@pytest.mark.parametrize("algo", ["sha512", "sha256"])
def test_digests_match_hashlib_for_mixed_buffer_sizes(depth, algo):
    rng = random.Random(depth)
    # small and large buffers interleaved: the small ones must not overtake large ones
    # still queued on the hash threads
    sizes = [rng.choice([10, 4096, PARALLEL_MIN - 1, PARALLEL_MIN, 300_000]) for _ in range(40)]
    buffers = [os.urandom(n) for n in sizes]
    with DualHasher(algo, depth=depth) as hasher:
        for buf in buffers:
            hasher.update(buf)
        hasher.close()
    whole = b"".join(buffers)
    assert hasher.md5.hexdigest() == hashlib.md5(whole).hexdigest()
    assert hasher.multi.hexdigest() == hashlib.new(algo, whole).hexdigest()
    assert hasher.crc32 == zlib.crc32(whole)


def test_at_most_depth_buffers_are_in_flight(monkeypatch):
    hasher = DualHasher("sha512", depth=2)
    seen = []
    real = hasher._finish_oldest

    def finish_oldest():
        seen.append(len(hasher._pending))
        real()

    monkeypatch.setattr(hasher, "_finish_oldest", finish_oldest)
    for _ in range(6):
        hasher.update(os.urandom(PARALLEL_MIN))
        assert len(hasher._pending) <= 2
    hasher.close()
    assert seen and max(seen) == 2


def test_crc32_is_zlibs_crc32():
    data = os.urandom(1 << 20)
    assert crc.crc32(data, 0) == zlib.crc32(data)
    assert crc.crc32(data[5:], crc.crc32(data[:5], 0)) == zlib.crc32(data)


def test_crc32_comes_from_zlib_ng():
    from zlib_ng import zlib_ng as zn

    assert crc.crc32 is zn.crc32


def test_one_buffer_is_hashed_without_a_thread_and_the_second_starts_them():
    first, second = os.urandom(PARALLEL_MIN * 2), os.urandom(PARALLEL_MIN * 2)
    with DualHasher("sha512", depth=3) as hasher:
        hasher.update(first)
        assert hasher._threads == ()
        hasher.update(second)
        assert len(hasher._threads) == 2
        hasher.close()
    assert hasher.md5.hexdigest() == hashlib.md5(first + second).hexdigest()
