"""Where a fill's bytes go: its partial file, written so that the download beside it pays as
little CPU as the disk allows.

``open_sink`` opens the partial file with ``O_DIRECT`` where the filesystem takes it: the
bytes are copied into one page-aligned staging buffer and written from there straight to the
disk, so no page-cache page is taken for them (on this project's VMs a new page costs about
2 s of CPU per GiB, a direct write 0.1 s). Where ``O_DIRECT`` is refused (tmpfs, some network
filesystems) the file is written through the page cache and flushed and dropped every
``FLUSH_EVERY`` bytes on a thread of its own (``Flusher``, as the filesystem store does with
``filesystem_store_drop_cache``), so that written pages are reused. Either way the copy is
then read back (and so into the page cache, where the hits find it) by the fill's
verification, after the download.
"""

from __future__ import annotations

import errno
import mmap
import os

from imgreg.store.file_writer import Flusher

STAGE = 4 * 1024 * 1024  # the O_DIRECT staging buffer: a multiple of any block size
ALIGN = 4096  # O_DIRECT's alignment of offsets and lengths on the filesystems we meet
FLUSH_EVERY = 32 * 1024 * 1024  # buffered: written, then flushed and dropped


def write_all(fd: int, data: bytes | memoryview) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


class BufferedSink:
    def __init__(self, fd: int) -> None:
        self.fd = fd
        self.size = 0
        self.flusher = Flusher(fd, drop_cache=True, every=FLUSH_EVERY)

    def write(self, data: bytes) -> None:
        write_all(self.fd, data)
        self.size += len(data)
        self.flusher.written(self.size)  # an earlier flush's error ends the fill here

    def complete(self) -> None:
        """Everything written is in the file (a flush's error is raised here)."""
        self.flusher.finish()

    def close(self) -> None:
        self.flusher.pool.shutdown(wait=True)  # no flush of a closed descriptor


class DirectSink:
    def __init__(self, fd: int) -> None:
        self.fd = fd
        self.size = 0
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
                write_all(self.fd, memoryview(self.stage))
                self.staged = 0
        self.size += len(data)

    def complete(self) -> None:
        """The staged tail written, padded to the alignment, and the file cut to its size."""
        if self.staged:
            padded = -(-self.staged // ALIGN) * ALIGN
            self.stage[self.staged : padded] = bytes(padded - self.staged)
            write_all(self.fd, memoryview(self.stage)[:padded])
            self.staged = 0
        os.ftruncate(self.fd, self.size)

    def close(self) -> None:
        # not mmap.close(): a failed write's traceback may still hold a view of the buffer;
        # the mapping goes with its last reference
        if hasattr(self, "stage"):
            del self.stage


def open_sink(path: str) -> tuple[int, BufferedSink | DirectSink]:
    """The partial file at ``path``, emptied (whatever a dead fill left), and its sink."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC
    direct = getattr(os, "O_DIRECT", 0)
    if direct:
        try:
            fd = os.open(path, flags | direct, 0o640)
        except OSError as exc:
            if exc.errno != errno.EINVAL:
                raise
        else:
            return fd, DirectSink(fd)
    fd = os.open(path, flags, 0o640)
    return fd, BufferedSink(fd)
