"""Writing a file past the page cache (``O_DIRECT``), shared by the filesystem store's uploads
and the image cache's fills (``imgreg.cache.sink``).

Why: on this project's VMs, writing into a page-cache page the guest has not used for a while
costs about 2-3 s of CPU per GiB (the host hands the memory back at the first touch of each
page); a direct write from a reused, page-aligned buffer costs about 0.1 s per GiB, plus the
copy into that buffer.

``open_direct`` opens a file with ``O_DIRECT`` where the filesystem takes it and says whether it
did; tmpfs and some network filesystems refuse the flag with ``EINVAL``, and the file is then
opened without it. ``AlignedWriter`` writes a stream of arbitrary pieces to such a file: whole
``ALIGN`` blocks go straight to the disk from its staging buffer, the remainder stays staged
for the next piece, and ``finish`` writes the last partial block through the page cache
(``O_DIRECT`` cleared on the descriptor), so the file is never longer than what was written and
needs no truncation. A filesystem that takes the flag but refuses a direct write with
``EINVAL`` gets the same buffered writes from then on.
"""

from __future__ import annotations

import errno
import fcntl
import mmap
import os

ALIGN = 4096  # O_DIRECT's alignment of offsets, lengths and buffers on the filesystems we meet


def write_all(fd: int, data: bytes | memoryview | mmap.mmap) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def open_direct(path: str, flags: int, mode: int = 0o640) -> tuple[int, bool]:
    """``os.open(path, flags | O_DIRECT)``, or without ``O_DIRECT`` where the filesystem refuses
    it (``EINVAL``); returns the descriptor and whether it is direct. ``O_CREAT | O_EXCL`` stay
    exact: a refused open creates nothing."""
    direct = getattr(os, "O_DIRECT", 0)  # looked up here: tests take it away
    if direct:
        try:
            return os.open(path, flags | direct, mode), True
        except OSError as exc:
            if exc.errno != errno.EINVAL:
                raise
    return os.open(path, flags, mode), False


def clear_direct(fd: int) -> None:
    """Later writes to ``fd`` go through the page cache."""
    fcntl.fcntl(fd, fcntl.F_SETFL, fcntl.fcntl(fd, fcntl.F_GETFL) & ~getattr(os, "O_DIRECT", 0))


class AlignedWriter:
    """Writes pieces of any length, in order, to ``fd`` (opened with ``O_DIRECT`` at offset 0)
    through one page-aligned staging buffer of ``capacity`` bytes (rounded up to ``ALIGN``, plus
    one block for the carried remainder). Not thread-safe: one writer thread calls ``write``
    then ``finish``. Memory stays at that one buffer whatever the file's size."""

    def __init__(self, fd: int, capacity: int) -> None:
        self.fd = fd
        self.size = -(-max(capacity, 1) // ALIGN) * ALIGN + ALIGN
        self.stage = mmap.mmap(-1, self.size)  # anonymous: page-aligned, reused for every piece
        self.staged = 0  # bytes at the start of the buffer not yet written (less than ALIGN)
        self.direct = True

    def write(self, data: bytes | memoryview) -> None:
        view = memoryview(data)
        if not self.direct:
            write_all(self.fd, view)
            return
        while view:
            n = min(len(view), self.size - self.staged)
            self.stage[self.staged : self.staged + n] = view[:n]
            self.staged += n
            view = view[n:]
            whole = self.staged - self.staged % ALIGN
            if whole:
                self._write_direct(whole)
                if not self.direct:
                    write_all(self.fd, view)
                    return

    def _write_direct(self, length: int) -> None:
        with memoryview(self.stage) as staged:
            done = 0
            while done < length:
                try:
                    done += os.write(self.fd, staged[done:length])
                except OSError as exc:
                    if exc.errno != errno.EINVAL:
                        raise
                    # the filesystem took the flag but not the write: buffered from here on
                    clear_direct(self.fd)
                    self.direct = False
                    write_all(self.fd, staged[done : self.staged])
                    self.staged = 0
                    return
            rest = self.staged - length
            staged[:rest] = staged[length : self.staged]
        self.staged = rest

    def finish(self) -> None:
        """Writes the staged remainder (less than one block) through the page cache."""
        if self.staged:
            clear_direct(self.fd)
            self.direct = False
            with memoryview(self.stage) as staged:
                write_all(self.fd, staged[: self.staged])
            self.staged = 0

    def close(self) -> None:
        # not mmap.close(): a failed write's traceback may still hold a view of the buffer
        del self.stage
