"""``Fill.finish_soon``: a download that fills the cache hands the verification to a thread of
its own and returns; the copy becomes a hit only once that thread has read the written file
back and found the image's multihash in it."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import pytest

from imgreg.cache import fill as fill_module
from imgreg.cache.cache import ImageCache
from imgreg.cache.fill import Fill
from tests.support.builders import make_conf
from tests.unit.cache.test_cache import data_image, read


@pytest.fixture
def cache(tmp_path: Path) -> ImageCache:
    return ImageCache(make_conf(image_cache_dir=str(tmp_path / "cache")))


def written(cache: ImageCache, data: bytes) -> tuple[Fill, object]:
    image = data_image(data)
    started = cache.begin_fill(image)
    assert isinstance(started, Fill)
    for i in range(0, len(data), 4096):
        started.write(data[i : i + 4096])
    return started, image


def wait_until(condition, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def test_finish_soon_returns_before_the_verification_and_the_copy_then_becomes_a_hit(
    cache, monkeypatch
):
    data = os.urandom(100_000)
    started, image = written(cache, data)
    gate = threading.Event()
    real = Fill._read_back

    def gated(self: Fill) -> tuple[int, str, int]:
        gate.wait(10)
        return real(self)

    monkeypatch.setattr(Fill, "_read_back", gated)
    started.finish_soon()  # returns while the verification waits at the gate
    assert cache.open_hit(image) is None
    # the download's close() comes after finish_soon: it must not drop the fill
    started.abandon()
    gate.set()
    wait_until(lambda: cache.cached(image.id))
    assert read(cache.open_hit(image)) == data
    assert os.listdir(cache.layout.incomplete) == []


def test_the_copy_is_verified_from_the_disk_not_from_the_blocks_handed_to_it(cache):
    """A byte that changes on the disk between the write and the verification is caught."""
    data = os.urandom(100_000)
    started, image = written(cache, data)
    started.sink.complete()  # every block on the disk (the sink's thread writes them)
    with open(started.partial, "r+b") as f:
        f.seek(5000)
        f.write(bytes([data[5000] ^ 1]))
    assert started.finish() is False
    assert not cache.cached(image.id)
    assert os.listdir(cache.layout.incomplete) == []


def test_the_verification_runs_at_a_lower_priority(cache, monkeypatch):
    calls: list[tuple[int, int, int]] = []
    monkeypatch.setattr(fill_module.os, "setpriority", lambda *a: calls.append(a))
    started, image = written(cache, os.urandom(10_000))
    started.finish_soon()
    wait_until(lambda: cache.cached(image.id))
    [(which, who, niceness)] = calls
    assert (which, niceness) == (os.PRIO_PROCESS, fill_module.NICENESS)
    assert who != threading.get_native_id()  # the verifying thread, not the caller's


def test_the_copy_is_flushed_and_dropped_from_the_page_cache_as_it_is_written(cache, monkeypatch):
    """Where O_DIRECT is refused, written pages are flushed and dropped every FLUSH_EVERY bytes
    (on the flusher's thread), so that a fill reuses pages instead of taking new ones while the
    download runs."""
    from imgreg.cache import sink as sink_module
    from imgreg.store import file_writer

    monkeypatch.delattr(sink_module.os, "O_DIRECT")

    dropped: list[tuple[int, int]] = []
    real = os.posix_fadvise

    def recording(fd: int, offset: int, length: int, advice: int) -> None:
        if advice == os.POSIX_FADV_DONTNEED:
            dropped.append((offset, length))
        real(fd, offset, length, advice)

    monkeypatch.setattr(file_writer.os, "posix_fadvise", recording)
    monkeypatch.setattr(sink_module, "FLUSH_EVERY", 8192)
    data = os.urandom(100_000)
    started, image = written(cache, data)
    assert started.finish() is True
    assert dropped and dropped[0][0] == 0
    assert sum(length for _offset, length in dropped) >= 8192
    assert read(cache.open_hit(image)) == data
