"""The filesystem store: one file per image under a root directory.

Layout::

    <root>/<image-id>              a complete, fsynced blob (the only thing a URL points at)
    <root>/.partial/<image-id>.<n> an upload in flight; renamed into place when complete

``add`` streams to a partial file, hashing on the way, checks the size, fsyncs the file,
renames it into place and fsyncs the directory. Any failure unlinks the partial file, so a
failed upload leaves nothing behind; what a killed process leaves (a partial file, a blob whose
image never became active) is found by ``list_blobs``/``list_partials`` and removed by the
reaper (``imgreg.maintenance.recovery``).
"""

from __future__ import annotations

import collections
import concurrent.futures
import contextlib
import errno
import os
import secrets
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from typing import BinaryIO

from oslo_config import cfg

from imgreg import faults
from imgreg.domain import errors
from imgreg.integrity.crc import crc32
from imgreg.integrity.hashing import DualHasher
from imgreg.store import PartialFile, StoredBlob, register
from imgreg.store.source import is_uuid

BLOCK = 4 * 1024 * 1024
DEPTH = 3  # blocks that may wait to be hashed, and to be written
# fdatasync of the upload so far, then (with filesystem_store_drop_cache) the flushed range
# leaves the page cache and the next blocks reuse that memory. On this project's VMs, memory
# the page cache had not held for a few seconds cost 2-3 s of CPU per GiB to write into (the
# host takes free memory back); dropping behind a 32 MiB window made 512 MiB uploads 20-30%
# faster, but the first download then read from the disk at a third of the cached speed.
FLUSH_EVERY = 32 * 1024 * 1024
SCHEME = "file://"
# Extended attribute of a blob: "<crc32> <size> <mtime_ns> <checked at>", written when the blob
# was written or last read back in full and found to match that CRC-32.
VERIFIED_XATTR = "user.imgreg.verified"


def _mark_verified(fd: int, crc: int) -> None:
    """Record on the file that its content was just checked to be ``crc``. A filesystem
    without user xattrs records nothing (every download is then checked)."""
    st = os.fstat(fd)
    value = f"{crc} {st.st_size} {st.st_mtime_ns} {time.time():.3f}".encode()
    with contextlib.suppress(OSError):
        os.setxattr(fd, VERIFIED_XATTR, value)


class FileReader:
    def __init__(self, path: str, offset: int, length: int) -> None:
        self.file = open(path, "rb")  # noqa: SIM115 - closed by close()
        self.file.seek(offset)
        self.offset = offset
        self.size = length

    def __iter__(self) -> Iterator[bytes]:
        remaining = self.size
        while remaining > 0:
            chunk = self.file.read(min(BLOCK, remaining))
            if not chunk:
                raise errors.StoreError("Image data is shorter than recorded")
            remaining -= len(chunk)
            yield chunk

    def crc32(self) -> int:
        """CRC-32 of this reader's byte range, read with ``pread`` (the position used by
        ``sendfile`` is left alone). File reads and ``crc32`` release the GIL."""
        crc, position, end = 0, self.offset, self.offset + self.size
        fd = self.file.fileno()
        while position < end:
            chunk = os.pread(fd, min(BLOCK, end - position), position)
            if not chunk:
                raise errors.StoreError("Image data is shorter than recorded")
            crc = crc32(chunk, crc)
            position += len(chunk)
        return crc

    def verified_within(self, crc: int, seconds: float) -> bool:
        """True when the whole file was checked to match ``crc`` less than ``seconds`` ago
        and has not been written since (same size and mtime as then)."""
        if seconds <= 0 or self.offset != 0:
            return False
        fd = self.file.fileno()
        try:
            marked_crc, size, mtime_ns, checked_at = os.getxattr(fd, VERIFIED_XATTR).split()
            st = os.fstat(fd)
            return (int(marked_crc), int(size), int(mtime_ns)) == (
                crc,
                st.st_size,
                st.st_mtime_ns,
            ) and 0 <= time.time() - float(checked_at) < seconds
        except (OSError, ValueError):
            return False

    def mark_verified(self, crc: int) -> None:
        _mark_verified(self.file.fileno(), crc)

    def close(self) -> None:
        self.file.close()


@register("file")
class FilesystemStore:
    def __init__(self, conf: cfg.ConfigOpts) -> None:
        self.root = os.path.abspath(conf.glance_store.filesystem_store_datadir)
        self.partial = os.path.join(self.root, ".partial")
        self.drop_cache = conf.glance_store.filesystem_store_drop_cache
        os.makedirs(self.partial, exist_ok=True)

    # -- paths -------------------------------------------------------------------------------
    def _path(self, url: str) -> str:
        """The blob path of ``url``; only ``file://<root>/<uuid>`` is ever accepted."""
        if not url.startswith(SCHEME):
            raise errors.NotFound("Image data not found")
        path = url[len(SCHEME) :]
        directory, name = os.path.split(path)
        try:
            uuid.UUID(name)
        except ValueError:
            raise errors.NotFound("Image data not found") from None
        if directory != self.root:
            raise errors.NotFound("Image data not found")
        return path

    # -- Store ------------------------------------------------------------------------------
    def add(
        self, image_id: str, stream: BinaryIO, expected_size: int | None, hash_algo: str
    ) -> StoredBlob:
        final = os.path.join(self.root, str(uuid.UUID(image_id)))
        temp = os.path.join(self.partial, f"{image_id}.{secrets.token_hex(6)}")
        try:
            fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o640)
        except OSError as exc:
            raise _store_error(exc) from None
        try:
            try:
                size, hasher = self._write(fd, stream, expected_size, hash_algo)
                os.fsync(fd)
                if self.drop_cache:
                    os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
                _mark_verified(fd, hasher.crc32)  # these bytes were checksummed on the way in
            finally:
                os.close(fd)
            os.rename(temp, final)
            temp = final  # from here on, a failure must remove the renamed blob
            self._fsync_dir()
            faults.hit("after_rename")
        except BaseException as exc:
            _unlink(temp)
            if isinstance(exc, OSError):
                raise _store_error(exc) from None
            raise
        return StoredBlob(
            url=SCHEME + final,
            size=size,
            checksum=hasher.md5.hexdigest(),
            hash_algo=hash_algo,
            hash_value=hasher.multi.hexdigest(),
            crc32=hasher.crc32,
        )

    def _write(
        self, fd: int, stream: BinaryIO, expected: int | None, algo: str
    ) -> tuple[int, DualHasher]:
        # From the second block on, each block is hashed (two threads), written (one thread)
        # and, every FLUSH_EVERY bytes, handed to the disk (one more thread, so that the final
        # fsync has little left to wait for), while this thread reads the next block from the
        # client. At most DEPTH blocks wait in each queue; memory stays at a few blocks,
        # whatever the image size.
        size = 0
        # each queued write, with the upload's size once it is written
        writes: collections.deque[tuple[concurrent.futures.Future[None], int]]
        writes = collections.deque()
        failed = threading.Event()

        def write(data: bytes) -> None:
            if failed.is_set():
                return  # a block before this one failed: the upload is over
            try:
                _write_all(fd, data)
            except BaseException:
                failed.set()
                raise

        with (
            DualHasher(algo, depth=DEPTH) as hasher,
            concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="write") as writer,
            _Flusher(fd, self.drop_cache) as flusher,
        ):
            while True:
                want = BLOCK if expected is None else min(BLOCK, expected - size + 1)
                buf = stream.read(want)
                while writes and (len(writes) >= DEPTH or writes[0][0].done()):
                    done, written = writes.popleft()
                    done.result()  # raises the write's OSError, if any
                    if buf:  # at the end the final fsync follows: no early flush then
                        flusher.written(written)
                    faults.hit("mid_body")
                if not buf:
                    break
                size += len(buf)
                if expected is not None and size > expected:
                    raise errors.Invalid(
                        f"Size exceeds: expected {expected} bytes, got more than that"
                    )
                hasher.update(buf)
                if size == len(buf):  # the first block: written here, so that a one-block
                    writes.append((_done(write, buf), size))  # upload starts no thread at all
                else:
                    writes.append((writer.submit(write, buf), size))
            while writes:
                writes.popleft()[0].result()
            flusher.finish()
            hasher.close()
        if expected is not None and size != expected:
            raise errors.Invalid(f"Size mismatch: expected {expected} bytes, got {size} bytes")
        return size, hasher

    def _fsync_dir(self) -> None:
        dfd = os.open(self.root, os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)

    def open(self, url: str, offset: int = 0, length: int | None = None) -> FileReader:
        path = self._path(url)
        try:
            total = os.stat(path).st_size
        except FileNotFoundError:
            raise errors.NotFound("Image data not found") from None
        if length is None:
            length = total - offset
        return FileReader(path, offset, length)

    def delete(self, url: str) -> None:
        path = self._path(url)
        _unlink(path)
        self._fsync_dir()

    def list_blobs(self) -> list[str]:
        """URLs of every complete blob (files named by a UUID in the root)."""
        urls = []
        for entry in os.scandir(self.root):
            if entry.is_file(follow_symlinks=False) and is_uuid(entry.name):
                urls.append(SCHEME + entry.path)
        return sorted(urls)

    def list_partials(self) -> list[PartialFile]:
        """Every file in ``.partial`` (uploads in flight, or left by a killed process)."""
        found = []
        for entry in os.scandir(self.partial):
            with contextlib.suppress(FileNotFoundError):  # finished meanwhile
                found.append(
                    PartialFile(
                        name=entry.name,
                        image_id=entry.name.split(".", 1)[0],
                        modified=entry.stat(follow_symlinks=False).st_mtime,
                    )
                )
        return sorted(found, key=lambda p: p.name)

    def delete_partial(self, name: str) -> None:
        if not name or os.path.basename(name) != name or name in (".", ".."):
            raise errors.NotFound("Partial upload not found")
        _unlink(os.path.join(self.partial, name))

    def check(self) -> None:
        # access() also says EROFS for root on a file system remounted read-only; a removed
        # or unmounted directory fails it too (the mount point left behind has no .partial)
        if not os.access(self.partial, os.W_OK | os.X_OK):
            raise errors.StoreError(f"store directory {self.partial} is missing or read-only")


def _unlink(path: str) -> None:
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)


class _Flusher:
    """Starts ``fdatasync`` of what has been written so far on a thread of its own, at most one
    at a time, each time another ``FLUSH_EVERY`` bytes have been written (``written`` is told
    the size written, not queued, so a dropped range holds only written pages): the disk writes
    while the upload goes on, instead of all at once in the final ``fsync``. With
    ``drop_cache``, each flushed range then leaves the page cache (clean pages only: nothing
    unwritten is dropped)."""

    def __init__(self, fd: int, drop_cache: bool) -> None:
        self.fd = fd
        self.drop_cache = drop_cache
        self.next_at = FLUSH_EVERY
        self.dropped = 0
        self.pool = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="flush")
        self.running: concurrent.futures.Future[None] | None = None

    def written(self, size: int) -> None:
        if size < self.next_at or (self.running is not None and not self.running.done()):
            return
        self.finish()
        self.next_at = size + FLUSH_EVERY
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

    def __enter__(self) -> _Flusher:
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


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def _store_error(exc: OSError) -> errors.ImgregError:
    if exc.errno in (errno.ENOSPC, errno.EFBIG, errno.EDQUOT):
        return errors.StoreFull("Image storage media is full")
    return errors.StoreError("The image store failed to write the data")
