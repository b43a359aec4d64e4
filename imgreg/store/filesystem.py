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

import concurrent.futures  # noqa: F401 - the writer's threads; tests patch them through here
import contextlib
import errno
import os
import secrets
import uuid
from typing import BinaryIO

from oslo_config import cfg

from imgreg import faults
from imgreg.domain import errors
from imgreg.integrity.hashing import DualHasher
from imgreg.store import PartialFile, StoredBlob, register
from imgreg.store.direct_io import open_direct
from imgreg.store.file_reader import VERIFIED_XATTR, FileReader, mark_verified
from imgreg.store.file_writer import write_stream
from imgreg.store.source import is_uuid

__all__ = [
    "BLOCK",
    "DEPTH",
    "FLUSH_EVERY",
    "SCHEME",
    "VERIFIED_XATTR",
    "FileReader",
    "FilesystemStore",
]

BLOCK = 4 * 1024 * 1024
DEPTH = 3  # blocks that may wait to be hashed, and to be written
# fdatasync of the upload so far, then (with filesystem_store_drop_cache) the flushed range
# leaves the page cache and the next blocks reuse that memory. On this project's VMs, memory
# the page cache had not held for a few seconds cost 2-3 s of CPU per GiB to write into (the
# host takes free memory back); dropping behind a 32 MiB window made 512 MiB uploads 20-30%
# faster, but the first download then read from the disk at a third of the cached speed.
FLUSH_EVERY = 32 * 1024 * 1024
SCHEME = "file://"


@register("file")
class FilesystemStore:
    def __init__(self, conf: cfg.ConfigOpts) -> None:
        self.root = os.path.abspath(conf.glance_store.filesystem_store_datadir)
        self.partial = os.path.join(self.root, ".partial")
        self.drop_cache = conf.glance_store.filesystem_store_drop_cache
        self.direct_io = conf.glance_store.filesystem_store_direct_io
        os.makedirs(self.partial, exist_ok=True)

    # -- paths -------------------------------------------------------------------------------
    def _path(self, url: str) -> str:
        """The blob path of ``url``; only ``file://<root>/<uuid>`` is ever accepted."""
        if not url.startswith(SCHEME):
            raise errors.NotFound("Image data not found")
        path = url[len(SCHEME) :]
        name = os.path.basename(path)
        # exactly <root>/<uuid>: no other spelling ("//", "/./") of the same file
        if not is_uuid(name) or path != os.path.join(self.root, name):
            raise errors.NotFound("Image data not found")
        return path

    def blob_id(self, url: str) -> str:
        return os.path.basename(self._path(url))

    # -- Store ------------------------------------------------------------------------------
    def add(
        self, image_id: str, stream: BinaryIO, expected_size: int | None, hash_algo: str
    ) -> StoredBlob:
        final = os.path.join(self.root, str(uuid.UUID(image_id)))
        temp = os.path.join(self.partial, f"{image_id}.{secrets.token_hex(6)}")
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL
        try:
            if self.direct_io:
                fd, direct = open_direct(temp, flags, 0o640)
            else:
                fd, direct = os.open(temp, flags, 0o640), False
        except OSError as exc:
            raise _store_error(exc) from None
        try:
            try:
                size, hasher = self._write(fd, stream, expected_size, hash_algo, direct)
                os.fsync(fd)
                if self.drop_cache:
                    os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
                mark_verified(fd, hasher.crc32)  # these bytes were checksummed on the way in
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
        self, fd: int, stream: BinaryIO, expected: int | None, algo: str, direct: bool
    ) -> tuple[int, DualHasher]:
        return write_stream(
            fd,
            stream,
            expected,
            algo,
            block=BLOCK,
            depth=DEPTH,
            flush_every=FLUSH_EVERY,
            drop_cache=self.drop_cache,
            direct=direct,
        )

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
        return FileReader(path, offset, length, BLOCK)

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


def _store_error(exc: OSError) -> errors.ImgregError:
    if exc.errno in (errno.ENOSPC, errno.EFBIG, errno.EDQUOT):
        return errors.StoreFull("Image storage media is full")
    return errors.StoreError("The image store failed to write the data")
