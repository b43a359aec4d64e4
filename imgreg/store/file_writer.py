"""Writing an upload to the filesystem store's partial file: ``write_stream`` reads the client's
stream block by block while earlier blocks are hashed, written and flushed on threads of their
own (``FilesystemStore.add`` then fsyncs and renames the file)."""

from __future__ import annotations

import collections
import concurrent.futures
import contextlib
import os
import threading
from collections.abc import Callable
from typing import BinaryIO

from imgreg import faults
from imgreg.domain import errors
from imgreg.integrity.hashing import DualHasher
from imgreg.store.direct_io import ALIGN, AlignedWriter, write_all


def write_stream(
    fd: int,
    stream: BinaryIO,
    expected: int | None,
    algo: str,
    *,
    block: int,
    depth: int,
    flush_every: int,
    drop_cache: bool,
    direct: bool = False,
) -> tuple[int, DualHasher]:
    """Write ``stream`` to ``fd`` and return its size and hashes; ``Invalid`` when it is not
    ``expected`` bytes long (known as soon as it runs long). ``direct``: ``fd`` was opened with
    ``O_DIRECT`` (``direct_io.open_direct``), and the blocks go through an ``AlignedWriter``."""
    # From the second block on, each block is hashed (two threads), written (one thread)
    # and, every flush_every bytes, handed to the disk (one more thread, so that the final
    # fsync has little left to wait for), while this thread reads the next block from the
    # client. At most ``depth`` blocks wait in each queue; memory stays at a few blocks,
    # whatever the image size.
    size = 0
    # each queued write, with the upload's size once it is written
    writes: collections.deque[tuple[concurrent.futures.Future[None], int]]
    writes = collections.deque()
    failed = threading.Event()
    # direct: whole 4 KiB blocks go to the disk from one reused buffer, the rest of a block
    # waits for the next one (so a flushed range ends at a multiple of ALIGN)
    aligned = AlignedWriter(fd, block) if direct else None
    put = write_all if aligned is None else (lambda _fd, data: aligned.write(data))
    unaligned = ALIGN if direct else 1

    def write(data: bytes) -> None:
        if failed.is_set():
            return  # a block before this one failed: the upload is over
        try:
            put(fd, data)
        except BaseException:
            failed.set()
            raise

    with (
        contextlib.closing(aligned) if aligned is not None else contextlib.nullcontext(),
        DualHasher(algo, depth=depth) as hasher,
        concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="write") as writer,
        Flusher(fd, drop_cache, flush_every) as flusher,
    ):
        while True:
            want = block if expected is None else min(block, expected - size + 1)
            buf = stream.read(want)
            while writes and (len(writes) >= depth or writes[0][0].done()):
                done, written = writes.popleft()
                done.result()  # raises the write's OSError, if any
                if buf:  # at the end the final fsync follows: no early flush then
                    flusher.written(written)
                faults.hit("mid_body")
            if not buf:
                break
            size += len(buf)
            if expected is not None and size > expected:
                raise errors.Invalid(f"Size exceeds: expected {expected} bytes, got more than that")
            hasher.update(buf)
            on_disk = size - size % unaligned  # once this block's write is done
            if size == len(buf):  # the first block: written here, so that a one-block
                writes.append((_done(write, buf), on_disk))  # upload starts no thread at all
            else:
                writes.append((writer.submit(write, buf), on_disk))
        while writes:
            writes.popleft()[0].result()
        if aligned is not None:
            aligned.finish()  # the last partial block, through the page cache
        flusher.finish()
        hasher.close()
    if expected is not None and size != expected:
        raise errors.Invalid(f"Size mismatch: expected {expected} bytes, got {size} bytes")
    return size, hasher


class Flusher:
    """Starts ``fdatasync`` of what has been written so far on a thread of its own, at most one
    at a time, each time another ``every`` bytes have been written (``written`` is told the
    size written, not queued, so a dropped range holds only written pages): the disk writes
    while the upload goes on, instead of all at once in the final ``fsync``. With
    ``drop_cache``, each flushed range then leaves the page cache (clean pages only: nothing
    unwritten is dropped)."""

    def __init__(self, fd: int, drop_cache: bool, every: int) -> None:
        self.fd = fd
        self.drop_cache = drop_cache
        self.every = every
        self.next_at = every
        self.dropped = 0
        self.pool = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="flush")
        self.running: concurrent.futures.Future[None] | None = None

    def written(self, size: int) -> None:
        if size < self.next_at or (self.running is not None and not self.running.done()):
            return
        self.finish()
        self.next_at = size + self.every
        self.running = self.pool.submit(self._flush, self.dropped, size)
        self.dropped = size

    def _flush(self, start: int, end: int) -> None:
        os.fdatasync(self.fd)
        if self.drop_cache:
            os.posix_fadvise(self.fd, start, end - start, os.POSIX_FADV_DONTNEED)

    def finish(self) -> None:
        """Wait for the flush under way and raise its error. Linux reports a writeback error
        to one fsync of an open file, not to every later one: the upload's final fsync would
        not see what an early flush was told, so it is raised here."""
        if self.running is not None:
            running, self.running = self.running, None
            running.result()

    def __enter__(self) -> Flusher:
        return self

    def __exit__(self, *exc: object) -> None:
        self.pool.shutdown(wait=True)


def _done(func: Callable[[bytes], None], data: bytes) -> concurrent.futures.Future[None]:
    """``func(data)`` called now, as a finished future (its result or its exception)."""
    future: concurrent.futures.Future[None] = concurrent.futures.Future()
    try:
        func(data)
    except BaseException as exc:
        future.set_exception(exc)
    else:
        future.set_result(None)
    return future
