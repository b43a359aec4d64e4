"""``Fill``: one image's data written into the cache, as the filesystem store writes a blob.

The bytes go to ``incomplete/<id>`` while the writer holds an exclusive ``flock`` on
``locks/<id>`` (so one fill per image per node at a time, whatever the process; a SIGKILLed
writer's lock goes with it, and its partial file is never a hit). The lock is held until the
copy is renamed into place and recorded, so whoever takes it next finds the hit. The blocks
are written to the disk on the sink's own thread (``imgreg.cache.sink``). ``finish`` reads the
written file back once, taking its size, its multihash (the image's ``os_hash_algo``) and its
CRC-32, checks the size and the multihash against the image's ``size`` and ``os_hash_value``,
fsyncs the file, records that CRC-32 (the xattr the store uses, and the catalog: what a hit is
checked against), renames it into place and fsyncs the directory; anything else (``abandon``,
a write error such as ENOSPC, a mismatch) unlinks the partial file. No error of a fill is ever
raised to its caller: a download does not fail because the cache could not keep it.

Why the checksums are taken afterwards, from the file, and not from the blocks as they pass:
a download from a remote store keeps this machine's cores busy (Swift's proxy, the client),
and a sha512 beside it cost the first download a quarter of its speed (``tools/bench
--cache``); a CRC-32 beside it, 0.1 s of CPU per GiB. ``finish_soon`` runs ``finish`` on a
thread of its own at a lower CPU priority once the last byte went to the client; it checks
what is on the disk, not what was handed to ``write``. For the same reason the copy is
written so that it takes no new page-cache pages while the download runs (``O_DIRECT``, or
flushed and dropped as it goes).
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import hashlib
import logging
import os
import threading

from imgreg.cache.catalog import Catalog
from imgreg.cache.layout import Layout, unlink
from imgreg.cache.sink import open_sink
from imgreg.domain.image import Image
from imgreg.integrity.crc import crc32
from imgreg.store.file_reader import mark_verified

LOG = logging.getLogger(__name__)
READ_BACK = 4 * 1024 * 1024  # the block ``finish`` hashes the written file in
NICENESS = 10  # ``finish_soon``'s thread: after the downloads and uploads this node serves


def cacheable(image: Image) -> bool:
    """Only data that can be verified is cached: an active image with a size and a multihash
    of an algorithm hashlib knows."""
    if image.status != "active" or image.size is None or not image.os_hash_value:
        return False
    try:
        hashlib.new(image.os_hash_algo or "")
    except ValueError:
        return False
    return True


def try_lock(layout: Layout, image_id: str) -> int | None:
    """An open, exclusively locked ``locks/<id>``, or None while another fill holds it. The
    lock must be on the file the path still names: a clean may have unlinked it after we
    opened it, and then we would hold a lock nobody else sees."""
    path = layout.lock(image_id)
    for _attempt in range(3):
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_CLOEXEC, 0o640)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return None
        try:
            same = os.stat(path).st_ino == os.fstat(fd).st_ino
        except FileNotFoundError:
            same = False
        if same:
            return fd
        os.close(fd)
    return None


class Fill:
    """A copy being written: ``write`` hands each block to the sink (``imgreg.cache.sink``:
    copied into a staging buffer that a thread of the sink's own writes to the disk, so a
    download that fills the cache waits for the disk only when it runs well ahead of it)."""

    def __init__(self, layout: Layout, catalog: Catalog, image: Image, lock: int) -> None:
        """``lock``: the image's lock (``try_lock``), which the fill now owns."""
        self.layout = layout
        self.catalog = catalog
        self.image_id = image.id
        self.expected_size = image.size
        self.expected_hash = image.os_hash_value
        self.algo = image.os_hash_algo or ""
        self.partial = layout.partial(image.id)
        self.lock = lock
        fd, self.sink = open_sink(self.partial)
        self.fd: int | None = fd
        self.finishing = False  # finish_soon was called: the fill is its thread's now

    @property
    def active(self) -> bool:
        return self.fd is not None

    def write(self, data: bytes) -> None:
        if self.fd is None:
            return
        try:
            self.sink.write(data)
        except Exception as exc:  # an earlier block's write failed (ENOSPC...)
            self._failed(exc)

    def _failed(self, exc: Exception) -> None:
        """A write failed: the fill is abandoned."""
        full = isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT)
        LOG.log(
            logging.WARNING if full else logging.ERROR,
            "image %s: not cached, writing failed: %s",
            self.image_id,
            exc,
        )
        self._drop()

    def finish(self) -> bool:
        """Make the copy a hit if it is the image's data; whether it did."""
        if self.fd is None:
            return False
        try:
            self.sink.complete()
        except Exception as exc:
            self._failed(exc)
            return False
        try:
            size, multihash, crc = self._read_back()
            if size != self.expected_size or multihash != self.expected_hash:
                LOG.error(
                    "image %s: not cached, the data read (%d bytes) does not match its size "
                    "or os_hash_value",
                    self.image_id,
                    size,
                )
                self._drop()
                return False
            os.fsync(self.fd)
            mark_verified(self.fd, crc)
            os.rename(self.partial, self.layout.entry(self.image_id))
            self.layout.fsync_dir()
            self.catalog.add(self.image_id, size, crc, multihash)
        except Exception as exc:
            LOG.error("image %s: not cached: %s", self.image_id, exc)
            unlink(self.layout.entry(self.image_id))
            self._drop()
            return False
        self._release()
        return True

    def finish_soon(self) -> None:
        """``finish`` on a thread of its own, at a lower CPU priority: the caller (a download
        whose last byte has gone out) does not wait for the read-back."""
        self.finishing = True
        threading.Thread(target=self._finish_niced, name="cache-verify", daemon=True).start()

    def _finish_niced(self) -> None:
        with contextlib.suppress(OSError):  # this thread only: a Linux thread is a task
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), NICENESS)
        self.finish()

    def _read_back(self) -> tuple[int, str, int]:
        """The size, multihash and CRC-32 of what was written, read back from the partial
        file (ours while we hold the lock)."""
        multi = hashlib.new(self.algo)
        size = crc = 0
        view = memoryview(bytearray(READ_BACK))
        with open(self.partial, "rb", buffering=0) as written:
            while n := written.readinto(view):
                multi.update(view[:n])
                crc = crc32(view[:n], crc)
                size += n
        return size, multi.hexdigest(), crc

    def abandon(self) -> None:
        """Drop the fill, unless ``finish_soon`` already handed it to its thread."""
        if not self.finishing:
            self._drop()

    def _drop(self) -> None:
        if self.fd is None:
            return
        self.sink.close()  # no write after the unlink
        try:
            unlink(self.partial)  # while still locked: nobody else writes it
        except OSError as exc:  # left for a clean
            LOG.warning("image %s: partial cache file not removed: %s", self.image_id, exc)
        self._release()

    def _release(self) -> None:
        self.sink.close()
        if self.fd is not None:
            os.close(self.fd)
            os.close(self.lock)  # last: the copy is in place and recorded, or gone
            self.fd = None
