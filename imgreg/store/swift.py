"""The Swift store (python-swiftclient): one object per image, or segments plus a static large
object (SLO) manifest for large images.

Layout, with ``C`` = ``swift_store_container``::

    C/<image-id>                            a blob: one object, or an SLO manifest whose
                                            metadata ``X-Object-Meta-Segments`` names its group
    C_segments/<image-id>.<token>/<nnnnnn>  the segments of one upload (a group)

An image of known size under ``swift_store_large_object_size`` is one chunked PUT: Swift makes an
object visible only when its PUT completes, so an aborted PUT (the source failed, the size was
wrong: both are raised inside the request body) leaves nothing. Other images are streamed one
segment (``swift_store_large_object_chunk_size``) per PUT, then the manifest is PUT under the image
id (``imgreg.store.swift_slo``). At most one block (``BLOCK``) is read ahead and hashed
(``DualHasher``) while it is sent, whatever the image's size. A failed upload deletes the segments
it wrote; ``delete`` removes the manifest first, then its segments. Segments that no manifest names
(left by a killed process or a delete that failed half-way) are what ``list_partials`` reports, one
``PartialFile`` per group, for the reaper (``imgreg.maintenance.recovery``).
"""

from __future__ import annotations

import contextlib
import logging
import math
import threading
import uuid
from collections.abc import Iterable, Iterator
from typing import Any, BinaryIO

import swiftclient
from oslo_config import cfg
from swiftclient import ClientException

from imgreg.domain import errors
from imgreg.integrity.hashing import DualHasher
from imgreg.store import PartialFile, StoredBlob, register
from imgreg.store.source import BLOCK, Source, is_uuid
from imgreg.store.swift_errors import translated
from imgreg.store.swift_slo import GROUP, SEGMENTS_META, SegmentGroups, delete_object, listing

__all__ = ["GROUP", "MAX_SEGMENTS", "SCHEME", "SEGMENTS_META", "SwiftReader", "SwiftStore"]

LOG = logging.getLogger(__name__)

MiB = 1024 * 1024
SCHEME = "swift://"
MAX_SEGMENTS = 1000  # Swift's default max_manifest_segments
RETRIES = 2  # of requests that can be repeated (data PUTs stream, so they are never repeated)
TIMEOUT = 60.0  # seconds any one socket operation may take


class SwiftReader:
    """``size`` bytes of a GET's body, in blocks; a body that ends early is a store error.
    Closing it closes the connection it reads from."""

    def __init__(self, body: Iterable[bytes], size: int, on_close: Any = None) -> None:
        self.body = body
        self.size = size
        self.on_close = on_close

    def __iter__(self) -> Iterator[bytes]:
        remaining = self.size
        with translated("read the data"):
            for chunk in self.body:
                remaining -= len(chunk)
                yield chunk
        if remaining > 0:
            raise errors.StoreError("Image data is shorter than recorded")

    def close(self) -> None:
        try:
            close = getattr(self.body, "close", None)
            if close is not None:
                close()
        finally:
            if self.on_close is not None:
                self.on_close()


@register("swift")
class SwiftStore:
    def __init__(self, conf: cfg.ConfigOpts) -> None:
        opts = conf.glance_store
        if not (opts.swift_store_auth_address and opts.swift_store_user):
            raise ValueError("the swift store needs swift_store_auth_address and swift_store_user")
        self.container = opts.swift_store_container
        self.segments = f"{self.container}_segments"
        self.create_containers = opts.swift_store_create_container_on_put
        self.large_size = opts.swift_store_large_object_size * MiB
        self.chunk_size = opts.swift_store_large_object_chunk_size * MiB
        self.slo = SegmentGroups(self.container, self.segments, self.chunk_size)
        user, os_options = opts.swift_store_user, {}
        if opts.swift_store_auth_version == "3":
            project, _, user = user.rpartition(":")
            os_options = {
                "project_name": project,
                "user_domain_id": "default",
                "project_domain_id": "default",
            }
        self._credentials: dict[str, Any] = {
            "authurl": opts.swift_store_auth_address,
            "auth_version": opts.swift_store_auth_version,
            "user": user,
            "key": opts.swift_store_key,
            "os_options": os_options,
        }
        self._lock = threading.Lock()
        self._token: tuple[str | None, str | None] = (None, None)  # storage URL, token

    # -- connections: one per operation, sharing the last token ---------------------------------
    def _connect(self, retries: int = RETRIES) -> swiftclient.Connection:
        with self._lock:
            url, token = self._token
        return swiftclient.Connection(
            **self._credentials,
            preauthurl=url,
            preauthtoken=token,
            retries=retries,
            starting_backoff=0.25,
            max_backoff=2,
            timeout=TIMEOUT,
            retry_on_ratelimit=False,
        )

    def _release(self, conn: swiftclient.Connection) -> None:
        if conn.url and conn.token:  # a token swiftclient got (or renewed) is kept for reuse
            with self._lock:
                self._token = (conn.url, conn.token)
        conn.close()

    @contextlib.contextmanager
    def _connection(self, retries: int = RETRIES) -> Iterator[swiftclient.Connection]:
        conn = self._connect(retries)
        try:
            yield conn
        finally:
            self._release(conn)

    def _name(self, url: str) -> str:
        """The object name of ``url``; only ``swift://<container>/<uuid>`` is accepted."""
        prefix = f"{SCHEME}{self.container}/"
        name = url[len(prefix) :] if url.startswith(prefix) else ""
        if not is_uuid(name):
            raise errors.NotFound("Image data not found")
        return name

    def blob_id(self, url: str) -> str:
        return self._name(url)

    # -- Store ----------------------------------------------------------------------------------
    def add(
        self, image_id: str, stream: BinaryIO, expected_size: int | None, hash_algo: str
    ) -> StoredBlob:
        name = str(uuid.UUID(image_id))
        written: list[str] = []  # segments that may exist
        with DualHasher(hash_algo) as hasher, self._connection(retries=0) as conn:
            source = Source(stream, expected_size, hasher)
            try:
                with translated("write the data"):
                    self._prepare_containers(conn)
                    if expected_size is not None and expected_size < self.large_size:
                        etag = self._put_object(conn, name, source)
                        hasher.close()
                        if etag != hasher.md5.hexdigest():
                            written.append(name)
                            raise errors.StoreError("The image store stored corrupt data")
                    else:
                        self.slo.put(conn, name, source, written, MAX_SEGMENTS)
                        hasher.close()
            except BaseException as exc:
                self._discard(written)
                if source.error is not None and source.error is not exc:
                    raise source.error from None
                raise
        return StoredBlob(
            url=f"{SCHEME}{self.container}/{name}",
            size=source.size,
            checksum=hasher.md5.hexdigest(),
            hash_algo=hash_algo,
            hash_value=hasher.multi.hexdigest(),
            crc32=hasher.crc32,
        )

    def _prepare_containers(self, conn: swiftclient.Connection) -> None:
        """A cheap request first: a data PUT cannot be repeated, so an expired token is
        renewed here (swiftclient re-authenticates on 401), and missing containers made."""
        try:
            conn.head_container(self.container)
        except ClientException as exc:
            if exc.http_status != 404 or not self.create_containers:
                raise
            conn.put_container(self.container)
            conn.put_container(self.segments)

    def _put_object(self, conn: swiftclient.Connection, name: str, source: Source) -> str:
        first = source.read(BLOCK)
        contents = source.body(first, math.inf) if first else b""
        etag: str = conn.put_object(self.container, name, contents)
        return etag

    def _discard(self, names: list[str]) -> None:
        """Best effort: what is left is found by ``list_partials``/``list_blobs``."""
        if not names:
            return
        with self._connection() as conn:
            for name in names:
                container = self.segments if "/" in name else self.container
                try:
                    delete_object(conn, container, name)
                except Exception as exc:
                    LOG.warning("swift: could not delete %s/%s: %s", container, name, exc)

    def open(self, url: str, offset: int = 0, length: int | None = None) -> SwiftReader:
        name = self._name(url)
        if length == 0:
            return SwiftReader([], 0)
        headers = {}
        if offset or length is not None:
            end = "" if length is None else str(offset + length - 1)
            headers["Range"] = f"bytes={offset}-{end}"
        conn = self._connect()
        try:
            with translated("read the data", passing=(404, 416)):
                meta, body = conn.get_object(
                    self.container, name, headers=headers, resp_chunk_size=BLOCK
                )
        except ClientException as exc:
            self._release(conn)
            if exc.http_status == 404:
                raise errors.NotFound("Image data not found") from None
            return SwiftReader([], length or 0)  # 416: all of it lies past the end
        except BaseException:
            self._release(conn)
            raise
        size = int(meta["content-length"]) if length is None else length
        return SwiftReader(body, size, on_close=lambda: self._release(conn))

    def delete(self, url: str) -> None:
        """The manifest (or object) first, then its segments: a failure half-way leaves
        segments no manifest names, which ``list_partials`` reports."""
        name = self._name(url)
        with self._connection() as conn, translated("delete the data"):
            try:
                meta = conn.head_object(self.container, name)
            except ClientException as exc:
                if exc.http_status == 404:
                    return
                raise
            delete_object(conn, self.container, name)
            group = meta.get(SEGMENTS_META.lower())
            if group and GROUP.match(group):
                self.slo.delete(conn, group)

    def list_blobs(self) -> list[str]:
        """URLs of every object named by a UUID in the container (images and manifests)."""
        with self._connection() as conn, translated("list the images"):
            objects = listing(conn, self.container)
        return sorted(
            f"{SCHEME}{self.container}/{o['name']}" for o in objects if is_uuid(o["name"])
        )

    def list_partials(self) -> list[PartialFile]:
        """Groups of segments that no manifest names (uploads in flight or abandoned); a
        group's time is its newest segment's."""
        with self._connection() as conn, translated("list the partial uploads"):
            return self.slo.partials(conn)

    def delete_partial(self, name: str) -> None:
        if not GROUP.match(name):
            raise errors.NotFound("Partial upload not found")
        with self._connection() as conn, translated("delete a partial upload"):
            self.slo.delete(conn, name)

    def check(self) -> None:
        """One HEAD of the container, not repeated (the balancer asks again in a second; an
        expired token is still renewed). A container the first upload will create is fine."""
        with self._connection(retries=0) as conn:
            try:
                with translated("answer the health check", passing=(404,)):
                    conn.head_container(self.container)
            except ClientException as exc:
                if not self.create_containers:
                    LOG.warning("swift: container %s is missing: %s", self.container, exc)
                    raise errors.StoreError("The image store has no container") from None
