"""``DigestingReader``: the digests of everything read, whether it came in one buffer (hashed
on the reading thread) or many (on a thread of its own, a few buffers behind)."""

from __future__ import annotations

import hashlib
import io
import os
import threading

import pytest

from imgreg.integrity import expected
from imgreg.integrity.expected import DigestingReader

DATA = os.urandom(3 * 1024 * 1024 + 17)


@pytest.mark.parametrize("block", [len(DATA) + 1, 65536, 1000])
def test_the_digests_are_of_everything_read(block):
    reader = DigestingReader(io.BytesIO(DATA), ["sha256", "sha512"])
    read = b"".join(iter(lambda: reader.read(block), b""))
    assert read == DATA
    assert reader.digests() == {
        "sha256": hashlib.sha256(DATA).digest(),
        "sha512": hashlib.sha512(DATA).digest(),
    }
    reader.close()


def test_one_buffer_starts_no_thread():
    before = threading.active_count()
    reader = DigestingReader(io.BytesIO(b"small"), ["sha256"])
    assert reader.read() == b"small" and reader.read() == b""
    assert threading.active_count() == before
    assert reader.digests() == {"sha256": hashlib.sha256(b"small").digest()}


def test_the_reader_waits_once_depth_buffers_are_queued(monkeypatch):
    """Memory stays at a few buffers: the hashing thread is held, and the read after
    ``DEPTH`` queued buffers (and the first, hashed in place) does not return."""
    gate = threading.Event()
    real = DigestingReader._update

    def slow(self, data):
        if threading.current_thread().name.startswith("digest"):
            gate.wait(10)
        real(self, data)

    monkeypatch.setattr(DigestingReader, "_update", slow)
    reader = DigestingReader(io.BytesIO(DATA), ["sha256"])
    for _ in range(1 + expected.DEPTH):
        reader.read(1000)
    blocked = threading.Thread(target=reader.read, args=(1000,))
    blocked.start()
    blocked.join(0.3)
    assert blocked.is_alive()
    gate.set()
    blocked.join(10)
    assert not blocked.is_alive()
    reader.close()


def test_close_without_digests_ends_the_thread():
    reader = DigestingReader(io.BytesIO(DATA), ["sha256"])
    for _ in range(5):
        reader.read(65536)
    reader.close()
    assert reader._thread is not None and reader._thread._shutdown
