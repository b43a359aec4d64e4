"""``imgreg.cache.sink``: a fill's partial file written with O_DIRECT through an aligned
staging buffer (its tail padded, then the file cut to size), or buffered where O_DIRECT is
refused; either way the file holds exactly the bytes written."""

from __future__ import annotations

import errno
import os
import random
import threading
import time
from pathlib import Path

import pytest

from imgreg.cache import sink as sink_module
from imgreg.cache.sink import AHEAD, ALIGN, STAGE, BufferedSink, DirectSink, open_sink

SIZES = [0, 1, ALIGN - 1, ALIGN, ALIGN + 1, STAGE - 1, STAGE, STAGE + 1, 3 * STAGE + 17]


def fill(path: Path, data: bytes) -> type:
    fd, sink = open_sink(str(path))
    try:
        rng = random.Random(len(data))
        at = 0
        while at < len(data):  # blocks of any size, as stores hand them over
            n = rng.choice([1, 100, ALIGN + 3, 1 << 20, STAGE + 5])
            sink.write(data[at : at + n])
            at += n
        sink.complete()
        os.fsync(fd)
    finally:
        sink.close()
        os.close(fd)
    return type(sink)


@pytest.mark.parametrize("size", SIZES)
def test_a_direct_sink_writes_exactly_the_bytes(tmp_path, size):
    data = os.urandom(size)
    assert fill(tmp_path / "copy", data) is DirectSink  # ext4 (or tmpfs on Linux 6.6+)
    assert (tmp_path / "copy").read_bytes() == data


@pytest.mark.parametrize("size", [0, ALIGN + 1, 3 * STAGE + 17])
def test_without_o_direct_a_buffered_sink_writes_exactly_the_bytes(tmp_path, monkeypatch, size):
    monkeypatch.delattr(sink_module.os, "O_DIRECT")
    data = os.urandom(size)
    assert fill(tmp_path / "copy", data) is BufferedSink
    assert (tmp_path / "copy").read_bytes() == data


def test_a_filesystem_that_refuses_o_direct_gets_the_buffered_sink(tmp_path, monkeypatch):
    real = os.open

    def refusing(path, flags, mode=0o777):
        if flags & os.O_DIRECT:
            raise OSError(errno.EINVAL, "Invalid argument")
        return real(path, flags, mode)

    monkeypatch.setattr(sink_module.os, "open", refusing)
    data = os.urandom(STAGE + 3)
    assert fill(tmp_path / "copy", data) is BufferedSink
    assert (tmp_path / "copy").read_bytes() == data


def test_a_reused_partial_file_is_emptied_first(tmp_path):
    (tmp_path / "copy").write_bytes(b"x" * (STAGE * 2))  # what a dead fill left
    data = os.urandom(ALIGN + 5)
    fill(tmp_path / "copy", data)
    assert (tmp_path / "copy").read_bytes() == data


def test_the_caller_waits_for_the_disk_only_when_ahead_buffers_are_on_their_way(
    tmp_path, monkeypatch
):
    """A download that fills the cache hands full buffers to the sink's thread and goes on;
    it waits only when ``AHEAD`` of them are still being written."""
    gate = threading.Event()
    started: list[int] = []
    real = sink_module.write_all

    def slow_disk(fd: int, data) -> None:
        started.append(len(data))
        gate.wait(10)
        real(fd, data)

    monkeypatch.setattr(sink_module, "write_all", slow_disk)
    fd, sink = open_sink(str(tmp_path / "copy"))
    assert isinstance(sink, DirectSink)
    block = os.urandom(STAGE // 4)
    data = block * (4 * (AHEAD + 1))
    try:
        t0 = time.monotonic()
        for _ in range(4 * AHEAD):  # AHEAD full buffers: the disk has not taken one yet
            sink.write(block)
        assert time.monotonic() - t0 < 5 and started == [STAGE]  # the first, in flight
        more = threading.Thread(target=lambda: [sink.write(block) for _ in range(4)])
        more.start()
        more.join(0.3)
        assert more.is_alive()  # one buffer too many: it waits for the disk
        gate.set()
        more.join(10)
        assert not more.is_alive()
        sink.complete()
    finally:
        gate.set()
        sink.close()
        os.close(fd)
    assert (tmp_path / "copy").read_bytes() == data


def test_after_a_failed_write_no_later_buffer_is_written(tmp_path, monkeypatch):
    calls: list[int] = []

    def full(fd: int, data) -> None:
        calls.append(len(data))
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(sink_module, "write_all", full)
    fd, sink = open_sink(str(tmp_path / "copy"))

    def fill() -> None:
        for _ in range(4 * (AHEAD + 2)):
            sink.write(os.urandom(STAGE // 4))
        sink.complete()

    try:
        with pytest.raises(OSError, match="No space"):
            fill()
    finally:
        sink.close()
        os.close(fd)
    assert calls == [STAGE]
