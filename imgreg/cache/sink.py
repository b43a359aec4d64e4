"""Where a fill's bytes go: its partial file, written so that the download beside it pays as
little CPU, and waits as little, as the disk allows.

``open_sink`` opens the partial file with ``O_DIRECT`` where the filesystem takes it: the
bytes are copied, on the caller's thread, into page-aligned staging buffers of ``STAGE``
bytes, and each full buffer is written from there straight to the disk on the sink's own
thread, so no page-cache page is taken for them (on this project's VMs a new page costs about
2 s of CPU per GiB, a direct write 0.1 s). Where ``O_DIRECT`` is refused (tmpfs, some network
filesystems) the blocks are handed to that thread ``STAGE`` bytes at a time, written through
the page cache and flushed and dropped every ``FLUSH_EVERY`` bytes (``Flusher``, as the
filesystem store does with ``filesystem_store_drop_cache``), so that written pages are
reused. Either way the copy is then read back (and so into the page cache, where the hits
find it) by the fill's verification, after the download.

Why whole buffers and one thread per sink (``Behind``): the download hands over 1 MiB blocks,
and waking a thread for each of them (and the ``GIL`` passed to and fro) cost the download
more than the copy into the buffer does; a buffer of ``STAGE`` bytes wakes the writer once.
The caller waits only when ``AHEAD`` buffers are still on their way to the disk. A write's
error (ENOSPC...) is raised by the next ``write`` or by ``complete``, and no write after it
runs. Memory stays at ``AHEAD + 1`` buffers whatever the image size.
"""

from __future__ import annotations

import collections
import concurrent.futures
import functools
import mmap
import os
from collections.abc import Callable
from typing import Generic, TypeVar

from imgreg import faults
from imgreg.store.direct_io import ALIGN, open_direct, write_all
from imgreg.store.file_writer import Flusher

STAGE = 8 * 1024 * 1024  # one write to the disk: a multiple of any block size
AHEAD = 2  # buffers that may be on their way to the disk while the caller fills the next
FLUSH_EVERY = 32 * 1024 * 1024  # buffered: written, then flushed and dropped

T = TypeVar("T")


class Behind(Generic[T]):
    """Writes run in order on a thread of their own, each with a ``token`` (the buffer it
    writes) that ``oldest`` gives back once it is done. An error of a write is raised where
    its token would come back, and the writes queued after it do nothing."""

    def __init__(self) -> None:
        self.thread = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="cache-write")
        self.pending: collections.deque[tuple[concurrent.futures.Future[None], T]]
        self.pending = collections.deque()
        self.failed = False

    def submit(self, write: Callable[[], None], token: T) -> None:
        self.pending.append((self.thread.submit(self._run, write), token))

    def _run(self, write: Callable[[], None]) -> None:
        if self.failed:
            return
        try:
            write()
            faults.hit("cache_mid_fill")
        except BaseException:
            self.failed = True
            raise

    def oldest(self) -> T:
        """The oldest write's token, once it is done (its error raised)."""
        done, token = self.pending.popleft()
        done.result()
        return token

    def drain(self) -> None:
        while self.pending:
            self.oldest()

    def close(self) -> None:
        """No write runs after this returns."""
        self.failed = True
        self.thread.shutdown(wait=True, cancel_futures=True)
        self.pending.clear()


def _write_stage(fd: int, stage: mmap.mmap, length: int) -> None:
    with memoryview(stage) as view:
        write_all(fd, view[:length])


class DirectSink:
    def __init__(self, fd: int) -> None:
        self.fd = fd
        self.size = 0
        self.behind: Behind[mmap.mmap] = Behind()
        self.buffers = 1
        self.stage = mmap.mmap(-1, STAGE)  # anonymous: page-aligned
        self.staged = 0

    def write(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            n = min(len(view), STAGE - self.staged)
            self.stage[self.staged : self.staged + n] = view[:n]
            self.staged += n
            view = view[n:]
            if self.staged == STAGE:
                self._send(STAGE)
                self.stage = self._next_buffer()
        self.size += len(data)

    def _send(self, length: int) -> None:
        self.behind.submit(functools.partial(_write_stage, self.fd, self.stage, length), self.stage)
        self.staged = 0

    def _next_buffer(self) -> mmap.mmap:
        if self.buffers <= AHEAD:  # made as they are needed: a small image takes one
            self.buffers += 1
            return mmap.mmap(-1, STAGE)
        return self.behind.oldest()

    def complete(self) -> None:
        """Everything written is on the disk: the staged tail written, padded to the
        alignment, and the file cut to its size (a write's error is raised here)."""
        if self.staged:
            padded = -(-self.staged // ALIGN) * ALIGN
            self.stage[self.staged : padded] = bytes(padded - self.staged)
            self._send(padded)
        self.behind.drain()
        os.ftruncate(self.fd, self.size)

    def close(self) -> None:
        self.behind.close()
        # not mmap.close(): a failed write's traceback may still hold a view of a buffer;
        # each mapping goes with its last reference
        if hasattr(self, "stage"):
            del self.stage


class BufferedSink:
    def __init__(self, fd: int) -> None:
        self.fd = fd
        self.size = 0
        self.flusher = Flusher(fd, drop_cache=True, every=FLUSH_EVERY)
        self.behind: Behind[None] = Behind()
        self.batch: list[bytes] = []
        self.batched = 0

    def write(self, data: bytes) -> None:
        self.batch.append(data)
        self.batched += len(data)
        self.size += len(data)
        if self.batched >= STAGE:
            self._send()

    def _send(self) -> None:
        if len(self.behind.pending) >= AHEAD:
            self.behind.oldest()
        self.behind.submit(functools.partial(self._write_batch, self.batch, self.size), None)
        self.batch, self.batched = [], 0

    def _write_batch(self, blocks: list[bytes], size: int) -> None:
        for block in blocks:
            write_all(self.fd, block)
        self.flusher.written(size)  # an earlier flush's error ends the fill here

    def complete(self) -> None:
        """Everything written is in the file (a write's or a flush's error is raised here)."""
        if self.batch:
            self._send()
        self.behind.drain()
        self.flusher.finish()

    def close(self) -> None:
        self.behind.close()
        self.flusher.pool.shutdown(wait=True)  # no flush of a closed descriptor


def open_sink(path: str) -> tuple[int, BufferedSink | DirectSink]:
    """The partial file at ``path``, emptied (whatever a dead fill left), and its sink."""
    fd, direct = open_direct(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC)
    return fd, DirectSink(fd) if direct else BufferedSink(fd)
