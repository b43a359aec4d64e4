"""Reading a filesystem store blob back: ``FileReader`` (downloads, CRC-32 checks) and the
extended attribute that records when a blob's content was last checked."""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Iterator

from imgreg.domain import errors
from imgreg.integrity.crc import crc32

# Extended attribute of a blob: "<crc32> <size> <mtime_ns> <checked at>", written when the blob
# was written or last read back in full and found to match that CRC-32.
VERIFIED_XATTR = "user.imgreg.verified"


def mark_verified(fd: int, crc: int) -> None:
    """Record on the file that its content was just checked to be ``crc``. A filesystem
    without user xattrs records nothing (every download is then checked)."""
    st = os.fstat(fd)
    value = f"{crc} {st.st_size} {st.st_mtime_ns} {time.time():.3f}".encode()
    with contextlib.suppress(OSError):
        os.setxattr(fd, VERIFIED_XATTR, value)


class FileReader:
    """``length`` bytes of the file at ``path`` from ``offset``, read ``block`` bytes at a
    time; a file that ends early is a store error."""

    def __init__(self, path: str, offset: int, length: int, block: int) -> None:
        self.file = open(path, "rb")  # noqa: SIM115 - closed by close()
        self.file.seek(offset)
        self.offset = offset
        self.size = length
        self.block = block

    def __iter__(self) -> Iterator[bytes]:
        remaining = self.size
        while remaining > 0:
            chunk = self.file.read(min(self.block, remaining))
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
            chunk = os.pread(fd, min(self.block, end - position), position)
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
        mark_verified(self.file.fileno(), crc)

    def close(self) -> None:
        self.file.close()
