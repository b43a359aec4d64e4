"""Durable resumable-upload sessions (tus 1.0): the bytes received so far, spooled to a
directory that every node of a cluster shares (``[DEFAULT] resumable_upload_dir``).

Layout::

    <dir>/<session>.json   what the session is for: image, target (file/stage), project,
                           length, store, the client's digests; written once, fsynced
    <dir>/<session>.data   the bytes received so far; the session's offset is this file's
                           size, and a chunk counts only once it is fsynced

A chunk is appended under an exclusive, non-blocking ``flock`` of the data file: a second
request on the same session at the same time (any process on this node; ``flock`` over NFS
is node-wide at least) is refused, not interleaved. A chunk whose body ends early (the
client went away) keeps what arrived, as tus asks, unless it carries a checksum that part
cannot be checked against; a chunk that fails otherwise (a checksum mismatch, past the
length) is cut back to the offset it started at. The offset is recorded
in ``<session>.offset`` only after the chunk is fsynced, so it only ever names durable
bytes; a tail a killed process left beyond it is cut off by the next chunk.

Nothing here is hashed: the complete data is read once, at the end, through the normal
upload path (format inspection, quota, the store's hashes and CRC-32), so an interrupted
upload costs the same hashing as an uninterrupted one.
"""

from __future__ import annotations

import base64
import contextlib
import fcntl
import hashlib
import json
import logging
import os
import re
import secrets
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from typing import BinaryIO

from imgreg import faults
from imgreg.domain import errors

LOG = logging.getLogger(__name__)

CHUNK = 1024 * 1024
CHECKSUM_ALGOS = {"sha256": "sha256", "sha512": "sha512", "md5": "md5", "sha1": "sha1"}
_SESSION_ID = re.compile(r"^[0-9a-f]{32}$")


class ChecksumMismatch(errors.ImgregError):
    """tus checksum extension: the chunk did not match its ``Upload-Checksum`` (460)."""


@dataclass
class Session:
    id: str
    image_id: str
    target: str  # "file" or "stage"
    project: str | None
    length: int
    store: str | None = None
    digests: list[tuple[str, str]] = field(default_factory=list)
    offset: int = 0
    expires: float = 0.0


def _fsync_dir(path: str) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class SessionSpool:
    def __init__(self, root: str, expiry: int) -> None:
        self.root = os.path.abspath(root)
        self.expiry = expiry
        os.makedirs(self.root, exist_ok=True)

    def _paths(self, session_id: str) -> tuple[str, str, str]:
        if not _SESSION_ID.match(session_id):
            raise errors.NotFound("Upload session not found")
        base = os.path.join(self.root, session_id)
        return base + ".json", base + ".data", base + ".offset"

    def create(self, session: Session) -> Session:
        session.id = secrets.token_hex(16)
        meta, data, offset = self._paths(session.id)
        with open(data, "xb") as out:
            os.fsync(out.fileno())
        _write_durably(offset, b"0")
        _write_durably(meta, json.dumps(asdict(session)).encode())
        _fsync_dir(self.root)
        return self.load(session.id)

    def load(self, session_id: str) -> Session:
        meta, _data, offset = self._paths(session_id)
        try:
            with open(meta, "rb") as f:
                fields = json.load(f)
            with open(offset, "rb") as f:
                durable = int(f.read() or b"0")
            touched = os.stat(offset).st_mtime
        except (OSError, ValueError):
            raise errors.NotFound("Upload session not found") from None
        fields["digests"] = [tuple(d) for d in fields.get("digests", [])]
        session = Session(**fields)
        session.offset = durable
        session.expires = touched + self.expiry
        if session.expires <= time.time():
            self.delete(session_id)
            raise errors.NotFound("Upload session not found")
        return session

    @contextlib.contextmanager
    def locked(self, session_id: str) -> Iterator[int]:
        """The data file open for appending, held exclusively (409 if another request has it)."""
        _meta, data, _offset = self._paths(session_id)
        try:
            fd = os.open(data, os.O_WRONLY)
        except OSError:
            raise errors.NotFound("Upload session not found") from None
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise errors.Conflict(
                    "Another request is writing to this upload session; retry after it."
                ) from None
            yield fd
        finally:
            os.close(fd)

    def append(
        self,
        session: Session,
        stream: BinaryIO,
        count: int | None,
        checksum: tuple[str, bytes] | None = None,
    ) -> int:
        """Append ``stream`` (``count`` bytes if known) at ``session.offset`` and return the new
        durable offset. The caller checked the client's offset against ``session.offset``
        under ``locked``."""
        room = session.length - session.offset
        if count is not None and count > room:
            raise errors.Invalid(
                f"The chunk of {count} bytes runs past the upload's length ({room} bytes left)."
            )
        _meta, data, offset_path = self._paths(session.id)
        digest = hashlib.new(checksum[0]) if checksum is not None else None
        written = 0
        cut: errors.ImgregError | None = None  # the body ended early: kept, then said
        try:
            fd = os.open(data, os.O_WRONLY)
        except FileNotFoundError:
            raise errors.NotFound("Upload session not found") from None
        try:
            os.ftruncate(fd, session.offset)  # a tail a killed process left is not data
            os.lseek(fd, session.offset, os.SEEK_SET)
            try:
                while True:
                    want = CHUNK if count is None else min(CHUNK, count - written)
                    if want <= 0:
                        break
                    try:
                        buf = stream.read(min(want, room - written + 1))
                    except errors.Invalid as exc:  # the client went away mid-chunk
                        cut = exc
                        break
                    if not buf:
                        break
                    written += len(buf)
                    if written > room:
                        raise errors.Invalid("The chunk runs past the upload's length.")
                    if digest is not None:
                        digest.update(buf)
                    _write_all(fd, buf)
                    if session.offset * 2 >= session.length:
                        faults.hit("resumable_mid_chunk")
                if cut is None and count is not None and written != count:
                    cut = errors.Invalid(f"The chunk ended after {written} of its {count} bytes.")
                if cut is not None and checksum is not None:
                    raise cut  # a part of a chunk cannot be checked against its checksum
                if checksum is not None and digest is not None and digest.digest() != checksum[1]:
                    raise ChecksumMismatch("The chunk does not match its Upload-Checksum.")
                os.fsync(fd)
            except BaseException:
                os.ftruncate(fd, session.offset)
                LOG.info(
                    "resumable upload %s: %d bytes received at offset %d, discarded",
                    session.id,
                    written,
                    session.offset,
                )
                raise
        finally:
            os.close(fd)
        LOG.info(
            "resumable upload %s: %d bytes received at offset %d, kept",
            session.id,
            written,
            session.offset,
        )
        session.offset += written
        _write_durably(offset_path, str(session.offset).encode())
        if cut is not None:
            raise cut
        return session.offset

    def open_data(self, session: Session) -> BinaryIO:
        _meta, data, _offset = self._paths(session.id)
        return open(data, "rb")  # the caller closes it

    def delete(self, session_id: str) -> None:
        """The description last: ``reap`` finds a session by it, so one whose deletion a
        crash cut short is found again."""
        meta, data, offset = self._paths(session_id)
        for path in (data, offset, meta):
            with contextlib.suppress(FileNotFoundError):
                os.unlink(path)

    def reap(self, now: float | None = None) -> list[str]:
        """Delete the sessions not touched for ``expiry`` seconds; their ids."""
        now = time.time() if now is None else now
        reaped = []
        for name in os.listdir(self.root):
            session_id, _, ext = name.partition(".")
            if ext != "json" or not _SESSION_ID.match(session_id):
                continue
            _meta, _data, offset = self._paths(session_id)
            try:
                touched = os.stat(offset).st_mtime
            except FileNotFoundError:
                touched = 0.0
            if touched + self.expiry <= now and self._delete_idle(session_id):
                reaped.append(session_id)
        return reaped

    def _delete_idle(self, session_id: str) -> bool:
        """Delete the session unless a request is writing to it now (holding ``locked``)."""
        try:
            with self.locked(session_id):
                self.delete(session_id)
        except errors.Conflict:
            return False
        except errors.NotFound:  # a deletion a crash cut short: its description is left
            self.delete(session_id)
        return True


def parse_checksum(header: str | None) -> tuple[str, bytes] | None:
    """``Upload-Checksum: <algo> <base64>``; an unknown algorithm or bad base64 is 400."""
    if header is None:
        return None
    algo, _, value = header.strip().partition(" ")
    if algo not in CHECKSUM_ALGOS:
        raise errors.Invalid(f"Unsupported Upload-Checksum algorithm {algo[:20]!r}.")
    try:
        raw = base64.b64decode(value.strip(), validate=True)
    except ValueError:
        raise errors.Invalid("Upload-Checksum is not valid base64.") from None
    if len(raw) != hashlib.new(algo).digest_size:
        raise errors.Invalid("Upload-Checksum has the wrong length for its algorithm.")
    return algo, raw


def _write_durably(path: str, data: bytes) -> None:
    tmp = f"{path}.{secrets.token_hex(4)}.tmp"
    with open(tmp, "wb") as out:
        out.write(data)
        out.flush()
        os.fsync(out.fileno())
    os.replace(tmp, path)
    _fsync_dir(os.path.dirname(path))


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]
